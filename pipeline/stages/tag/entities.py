"""Canonical entities: the model's mentions of an article grouped into entities, with country codes.

* One entity per thing: "Trump", "President Trump" and "Donald Trump" become ``Donald Trump``; "US",
  "U.S.", "USA", "the United States" become ``United States`` (GPE, ``US``); "North Atlantic Treaty
  Organization" and "NATO" become one ORG when both occur.
* Countries and cities carry an ISO 3166-1 alpha-2 code: country names and aliases from GeoNames and
  pycountry, cities from GeoNames (the most populous city of that name, 100,000 people or more).
  Nationalities (NORP: "Russian", "Ukrainian") carry their country's code too. The tables and lookups
  are the shared gazetteer's (``pipeline.knowledge.gazetteer``: ``country_of``, ``city_of``,
  ``place_of`` and the tag stage's views of its tables).
* Salience: a title mention counts 3, a lead mention 2, any other 1; dates and amounts count half;
  entities are listed by salience.
* Scraped-text guards (``clean_spans``): no entity spans a line break, none comes from a byline,
  source or category line, a person-tagged country or major city (the untuned model's "Kyiv") is
  relabelled GPE, and a building that stands for an institution ("Kremlin") is relabelled ORG.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Iterable

from pipeline.knowledge.gazetteer import MILLION_CITY, TAG_DEMONYMS, TAG_METONYMS, city_of, country_of, place_of
from pipeline.knowledge.gazetteer import QUOTES as _QUOTES
from schemas import Entity, Mention

#: labels kept on the record; other numbers and quantities are left to enrichers
KEEP_LABELS = {
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
    "DATE", "MONEY",
}
PLACE_LABELS = {"GPE", "LOC", "FAC"}
#: a model's PERSON/ORG on a city this large (or a country) is a place
RELABEL_CITY = MILLION_CITY

_HONORIFICS = re.compile(
    r"^(?:(?:(?:us|u\.s\.|russian|ukrainian|chinese|former|vice|deputy|acting|then)\s+)*"
    r"(?:presidents?|prime minister|minister|secretary|defen[cs]e secretary|foreign minister|senator|sen\.|"
    r"rep\.|mr\.?|mrs\.?|ms\.?|dr\.?|general|gen\.|chancellor|king|queen|pope|premier|governor|gov\.|"
    r"mayor|judge|sir|lord|lady|leader|spokesman|spokeswoman|ambassador)\s+)+",
    re.I,
)


# --------------------------------------------------------------------------------------------------
# Scraped-text guards
# --------------------------------------------------------------------------------------------------

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
        if text.strip(_QUOTES) in TAG_METONYMS:
            label = "ORG"  # the institution, not the place
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
            code = TAG_DEMONYMS.get(name.lower())
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
