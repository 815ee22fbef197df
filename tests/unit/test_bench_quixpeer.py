"""The Quix Streams peer's per-record hop (pipeline/measure/bench/quixpeer.py): the chain's stage function, the
record routed where the worker's agent would write it. No broker and no quixstreams needed for this part."""

import orjson

from pipeline import topics
from pipeline.kafka.wire import encode
from pipeline.measure.bench.quixpeer import NEXT, stage_fn
from pipeline.settings import Settings
from pipeline.stages.chain import Pipeline
from schemas import RawArticle

TEXT = (b"Council approves new bridge\n\nThe city council of Springfield voted on Monday to build a new bridge "
        b"over the river, officials said, after a debate that lasted most of the evening.\n")


def test_the_hops_are_the_workers_five():
    assert [stage for stage, _ in NEXT.values()] == list(topics.STAGES)


def test_parse_then_dedup_route_like_the_worker():
    pipe = Pipeline(Settings(stages=["parse", "dedup"]))
    route: dict = {}
    raw = encode(RawArticle.from_bytes(TEXT, "quix-test/1"))
    parsed = stage_fn(pipe, "parse", topics.RAW, route)(raw, b"quix-test/1", 0, None)
    assert route["topic"] == topics.PARSED and orjson.loads(parsed)["origin"] == "quix-test/1"
    dedup = stage_fn(pipe, "dedup", topics.PARSED, route)
    dedup(parsed, route["key"], 0, None)
    assert route["topic"] == topics.UNIQUE
    copy = stage_fn(pipe, "parse", topics.RAW, route)(encode(RawArticle.from_bytes(TEXT, "quix-test/2")),
                                                       b"quix-test/2", 0, None)
    dedup(copy, route["key"], 0, None)  # the same text from another origin: a duplicate
    assert route["topic"] == topics.DUPLICATES


def test_a_record_that_is_no_article_becomes_a_dead_letter_naming_the_stage():
    route: dict = {}
    out = stage_fn(Pipeline(Settings(stages=["normalize"])), "normalize", topics.UNIQUE, route)(
        b'{"not": "an article"}', b"k1", 0, None)
    assert route["topic"] == topics.DLQ
    dl = orjson.loads(out)
    assert dl["stage"] == "normalize" and dl["source_topic"] == topics.UNIQUE
