from pipeline.stages.enrich.stage import enrich
from pipeline.stages.normalize import normalize
from pipeline.stages.parse import parse
from pipeline.stages.tag.stage import build_entities, tag
from schemas import RawArticle


def seed_article(seed_bytes):
    return tag(normalize(parse(RawArticle.from_bytes(seed_bytes, "seed.txt"))))


def test_seed_entities(seed_bytes):
    a = seed_article(seed_bytes)
    by_name = {e.canonical: e for e in a.entities}
    for person in ("Donald Trump", "Vladimir Putin", "Volodymyr Zelensky", "Pete Hegseth", "Xi Jinping"):
        assert by_name[person].label == "PERSON"
    for place in ("Ukraine", "Russia", "China", "Moscow", "Beijing"):
        assert by_name[place].label == "GPE"
    assert by_name["NATO"].label == "ORG"
    # "Trump" mentions join "Donald Trump"
    assert by_name["Donald Trump"].count >= 5
    for e in a.entities:
        text = a.title if e.field == "title" else a.body
        assert text[e.start:e.end] == e.text
    # ranked by salience
    assert [e.salience for e in a.entities] == sorted((e.salience for e in a.entities), reverse=True)


def test_surname_joins_full_name():
    ents = build_entities([("Donald Trump", "PERSON", 0, 12, "body"), ("Trump", "PERSON", 40, 45, "body"),
                           ("President Trump", "PERSON", 60, 75, "body")])
    assert len(ents) == 1 and ents[0].canonical == "Donald Trump" and ents[0].count == 3


def test_enrich_fields(seed_bytes):
    a = enrich(seed_article(seed_bytes))
    assert a.language == "en"
    assert 350 < a.word_count < 400
    assert a.reading_time_s > 60
    assert a.keywords and all(k.lower() != "donald trump" for k in a.keywords)
    assert a.enrichment_errors == []


def test_places_carry_geonames_id_and_coordinates():
    from datetime import datetime, timezone

    from pipeline.stages.enrich.places import places
    from schemas import Article

    a = Article(id="g", origin="g", received_at=datetime(2026, 1, 1, tzinfo=timezone.utc), raw_format="text",
                title="Strike in Rotterdam",
                body="Dock workers in Rotterdam and Antwerp went on strike, the Netherlands said.")
    got = {p.name: p for p in places(tag(a))["places"]}
    rotterdam = got["Rotterdam"]
    assert rotterdam.country_code == "NL" and rotterdam.geonames_id == 2747891
    assert abs(rotterdam.latitude - 51.92) < 0.05 and abs(rotterdam.longitude - 4.48) < 0.05
    assert got["Antwerp"].geonames_id == 2803138
    # a country has its GeoNames id; GeoNames gives no single point for it
    assert got["Netherlands"].geonames_id == 2750405 and got["Netherlands"].latitude is None
