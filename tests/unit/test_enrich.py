"""The enrich stage on the seed article, the bundled samples and small made-up articles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.stages.chain import Pipeline
from pipeline.stages.enrich import REGISTRY, enricher
from pipeline.stages.enrich.taxonomy import MEDIA_TOPICS
from pipeline.stages.enrich.text import sentences, stopwords
from pipeline.errors import ConfigError
from pipeline.connectors.sources.files import read_inputs
from pipeline.settings import load_settings
from pipeline.stages.enrich.stage import enrich
from pipeline.stages.normalize import normalize
from pipeline.stages.parse import parse
from pipeline.stages.tag.stage import tag
from schemas import Article, Entity, Mention, RawArticle

SAMPLES = Path(__file__).resolve().parents[2] / "pipeline" / "samples"


def _tagged(raw: RawArticle) -> Article:
    return tag(normalize(parse(raw)))


@pytest.fixture(scope="module")
def seed_tagged(seed_bytes) -> Article:
    return _tagged(RawArticle.from_bytes(seed_bytes, "seed.txt"))


@pytest.fixture(scope="module")
def seed(seed_tagged) -> Article:
    return enrich(seed_tagged)


def _quote(article: Article, fragment: str):
    found = [q for q in article.quotes if fragment in q.text]
    assert found, f"no quote with {fragment!r} in {[q.text for q in article.quotes]}"
    return found[0]


def test_seed_language_and_places(seed):
    assert seed.language == "en" and seed.language_confidence > 0.9
    codes = {p.country_code for p in seed.places}
    assert {"UA", "RU", "US", "CN"} <= codes
    by_name = {p.name: p.country_code for p in seed.places}
    assert by_name.get("Moscow") == "RU" and by_name.get("Beijing") == "CN"
    assert seed.primary_country in {"US", "UA"}
    assert seed.enrichment_errors == []


def test_seed_quotes_and_speakers(seed):
    trump = _quote(seed, "I think they have to make peace")
    assert trump.speaker == "Donald Trump"
    hegseth = _quote(seed, "an unrealistic objective")
    assert hegseth.speaker == "Pete Hegseth"
    china = _quote(seed, "Russia and the US are both influential powers")
    assert china.speaker == "China" and "spokesman" in (china.speaker_text or "")
    for q in seed.quotes:
        assert seed.body[q.start:q.end] == q.text
    # "highly productive" is a two-word scare quote, not a quotation
    assert not any(q.text == "highly productive" for q in seed.quotes)


def test_seed_sentiment_categories_summary_keywords(seed):
    assert seed.sentiment is not None and -1 <= seed.sentiment.score <= 1
    assert seed.sentiment.label in ("negative", "neutral", "positive")
    names = {e.canonical for e in seed.entities}
    assert seed.entity_sentiment and all(s.entity in names and -1 <= s.score <= 1 for s in seed.entity_sentiment)
    labels = [c.label for c in seed.categories]
    assert {"politics", "conflict, war and peace"} & set(labels)
    assert all(lbl in {t[1] for t in MEDIA_TOPICS} for lbl in labels)
    assert [c.score for c in seed.categories] == sorted((c.score for c in seed.categories), reverse=True)
    assert all(c.id and c.id.startswith("medtop:") for c in seed.categories)
    assert seed.source_categories == ["Eastern Europe", "Politics", "USA", "World"]
    assert 2 <= len(seed.summary) <= 3 and all(s in seed.body for s in seed.summary)
    assert seed.summary[0].startswith("A flurry of diplomatic activity")
    assert seed.reading_time_s > 60 and 350 < seed.word_count < 400
    kws = [k.lower() for k in seed.keywords]
    assert 3 <= len(kws) <= 10 and len(set(kws)) == len(kws)
    entity_names = {(e.canonical or e.text).lower() for e in seed.entities}
    stop = stopwords()
    for k in kws:
        assert k not in entity_names
        assert k.split()[0] not in stop and k.split()[-1] not in stop
    assert any("peace" in k or "negotiat" in k for k in kws)


def test_failing_enricher_is_recorded_and_the_rest_still_filled(seed_tagged):
    @enricher("explodes", ("keywords",))
    def explodes(article):
        raise RuntimeError("boom")

    try:
        out = enrich(seed_tagged)
    finally:
        REGISTRY.pop("explodes")
    assert [(e.enricher, e.error) for e in out.enrichment_errors] == [("explodes", "RuntimeError: boom")]
    assert out.quotes and out.places and out.summary and out.keywords and out.categories and out.sentiment


def test_enrichers_setting_selects(seed_tagged):
    settings = load_settings(None, enrichers="stats,places")
    pipe = Pipeline(settings)
    out = pipe.enrich(seed_tagged)
    assert out.word_count > 0 and out.places
    assert out.quotes == [] and out.keywords == [] and out.summary == [] and out.sentiment is None
    with pytest.raises(ConfigError, match="unknown enricher"):
        load_settings(None, enrichers="stats,nope")


def test_samples_and_german_article():
    raws = list(read_inputs([str(SAMPLES)], max_bytes=2_000_000))
    out = {Path(r.origin).name: enrich(_tagged(r)) for r in raws}
    for name, a in out.items():
        assert a.enrichment_errors == [], name
        assert a.summary and a.categories and a.reading_time_s > 0, name
    de = out["05-bundesliga.json"]
    assert de.language == "de"
    for name in ("quotes", "sentiment", "keywords"):
        assert name in de.skipped
    assert de.categories[0].label == "sport"
    strike = out["01-port-strike.txt"]
    assert strike.primary_country == "NL"
    assert _quote(strike, "We are not asking for luxury").speaker == "Marieke van Dijk"
    assert {"labour", "economy, business and finance"} & {c.label for c in strike.categories}
    heat = out["02-heatwave.json"]
    assert heat.primary_country == "IN"
    assert _quote(heat, "We are seeing more cases").speaker == "Anil Sharma"
    assert {"weather", "environment"} & {c.label for c in heat.categories}
    chips = out["03-chip-export.html"]
    assert chips.primary_country == "JP" and {"JP", "US", "NL", "CN"} <= {p.country_code for p in chips.places}


def _article(body: str, entities: list[tuple[str, str]], title: str = "") -> Article:
    ents = []
    for text, label in entities:
        mentions = [Mention(text=text, start=m.start(), end=m.end()) for m in re.finditer(re.escape(text), body)]
        ents.append(Entity(text=text, label=label, start=mentions[0].start, end=mentions[0].end,
                           canonical=text, count=len(mentions), mentions=mentions))
    return Article(id="t", origin="t", received_at="2025-01-01T00:00:00Z", raw_format="text", title=title,
                   body=body, language="en", entities=ents)


def test_quote_patterns_straight_quotes_and_pronouns():
    body = ('Angela Merkel spoke in Berlin on Monday. "We will not give up on this plan," she said. '
            'Olaf Scholz said "the budget is balanced and fair" before leaving. '
            '"It is a good day for the city," Scholz told reporters.')
    a = enrich(_article(body, [("Angela Merkel", "PERSON"), ("Berlin", "GPE"), ("Olaf Scholz", "PERSON"),
                               ("Scholz", "PERSON")]))
    speakers = [(q.text[:12], q.speaker) for q in a.quotes]
    assert speakers == [("We will not ", "Angela Merkel"), ("the budget i", "Olaf Scholz"),
                        ("It is a good", "Scholz")]
    assert a.places[0].name == "Berlin" and a.places[0].country_code == "DE" and a.primary_country == "DE"


def test_places_from_mislabelled_and_untagged_names():
    body = "Officials in Kyiv and Paris met as talks moved to Geneva. Tokyo was not invited."
    a = enrich(_article(body, [("Kyiv", "PERSON"), ("Paris", "GPE")]))
    codes = {p.name: p.country_code for p in a.places}
    assert codes["Kyiv"] == "UA" and codes["Paris"] == "FR" and codes["Tokyo"] == "JP"


def test_sentence_split_keeps_abbreviations():
    text = 'Dr. Anil Sharma met U.S. officials. "It went well," he said. Then he left.\n\nNew paragraph'
    assert sentences(text) == ['Dr. Anil Sharma met U.S. officials.', '"It went well," he said.', "Then he left.",
                               "New paragraph"]


def test_eval_enrich_command_prints_throughput():
    import subprocess
    import sys

    import orjson

    r = subprocess.run([sys.executable, "-m", "pipeline", "eval", "enrich", "--articles", "30", "--json",
                        str(SAMPLES / "02-heatwave.json")], capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    res = orjson.loads(r.stdout)
    assert res["articles"] == 30 and res["articles_per_s"] > 0 and res["articles_per_cpu_s"] > 0
    assert set(res["per_enricher_cpu_ms"]) == set(REGISTRY)
    q = res["quality"]  # the trained enrichers beside their baselines, in the same run
    assert q["topics"]["model"]["accuracy"] > q["topics"]["seed_vocabulary"]["accuracy"]
    assert q["sentiment"]["model"]["macro_f1"] > q["sentiment"]["vader"]["macro_f1"]
    bad = subprocess.run([sys.executable, "-m", "pipeline", "eval", "enrich", "--enrichers", "nope"],
                         capture_output=True, timeout=120)
    assert bad.returncode == 2 and b"unknown enricher" in bad.stderr and b"Traceback" not in bad.stderr


def test_entity_country_code_from_the_tag_stage_wins():
    a = _article("Crowds gathered in Springfield and in Paris.", [("Springfield", "GPE"), ("Paris", "GPE")])
    a.entities[0].country_code = "US"
    a.entities[1].country_code = "US"  # Paris, Texas, as the tagger resolved it
    out = enrich(a, enrichers=["places"])
    assert {(p.name, p.country_code) for p in out.places} == {("Springfield", "US"), ("Paris", "US")}


def test_fast_vader_path_equals_vader(seed_bytes):
    from pipeline.stages.enrich.sentiment import _compound, analyzer

    texts = sentences(seed_bytes.decode()) + ["I do not love this at all!!", "It was kind of good, but mostly awful.",
                                              "Great day 😀", "NOT BAD :)", ""]
    for t in texts:
        assert _compound(t) == analyzer().polarity_scores(t)["compound"], t
