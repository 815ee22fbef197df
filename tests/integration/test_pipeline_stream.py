"""The whole pipeline on the test broker (Apache Kafka or Tansu, tests/conftest.py), with a real worker process."""

import asyncio

import orjson
import pytest

from pipeline import topics
from pipeline.kafka.clients import publish_raw
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.wire import encode
from schemas import DeadLetter, DuplicateArticle, EnrichedArticle, RawArticle
from tests.conftest import collect, settings_for

pytestmark = pytest.mark.integration


async def produce_bare(settings, values: list[bytes]) -> None:
    from pipeline.kafka.clients import make_producer

    p = make_producer(settings)
    await p.start()
    try:
        for v in values:
            await p.send_and_wait(topics.RAW, value=v)
    finally:
        await p.stop()


async def test_seed_duplicate_and_malformed_end_up_in_the_right_topics(broker, make_worker, seed_bytes):
    settings = settings_for(broker)
    await ensure_topics(settings)
    worker = make_worker("newsflow").start()
    await publish_raw(settings, [RawArticle.from_bytes(seed_bytes, "feeds/seed.txt"),
                                 RawArticle.from_bytes(seed_bytes, "feeds/seed-copy.txt")])
    # a producer that writes bare bytes: one malformed JSON, one binary blob
    await produce_bare(settings, [b'{"title": "broken', b"\x00\x9f\x92\x96 binary"])
    got = await collect(settings, wanted=4, timeout=150)
    assert worker.alive(), worker.log()[-3000:]
    enriched = [EnrichedArticle.model_validate(orjson.loads(v)) for v in got[topics.ENRICHED]]
    dups = [DuplicateArticle.model_validate(orjson.loads(v)) for v in got[topics.DUPLICATES]]
    dead = [DeadLetter.model_validate(orjson.loads(v)) for v in got[topics.DLQ]]
    assert (len(enriched), len(dups), len(dead)) == (1, 1, 2), worker.log()[-3000:]
    a = enriched[0]
    assert a.title.endswith("Take Substantial Role in Initiative")
    assert a.source == "Reuters" and a.published_at.date().isoformat() == "2025-02-14"
    assert a.source_categories == ["Eastern Europe", "Politics", "USA", "World"]
    assert a.origin == "feeds/seed.txt" and a.language == "en" and a.duplicate_of is None
    assert {(c.original, c.corrected) for c in a.corrections} >= {("Subsutantial", "Substantial"), ("pow\n\ners", "powers")}
    assert {"Donald Trump", "Vladimir Putin", "Pete Hegseth"} <= {e.canonical for e in a.entities}
    assert a.keywords and a.word_count > 300
    assert set(a.timings) == {"parse", "dedup", "normalize", "tag", "enrich", "stories"}
    assert a.story_id == f"s-{a.id}" and a.story.started  # the first article starts its story
    assert dups[0].duplicate_of == a.id and dups[0].origin == "feeds/seed-copy.txt"
    reasons = sorted(d.reason for d in dead)
    assert any("invalid JSON" in r for r in reasons) and any("binary" in r or "UTF-8" in r for r in reasons)
    assert all(d.stage == "parse" and d.origin.startswith("news.raw/") for d in dead)

    # the worker is still alive and still processing after the bad input
    await publish_raw(settings, [RawArticle.from_bytes(b"Fresh headline\n\nA new story about the harvest in Kenya.",
                                                       "feeds/later.txt")])
    got = await collect(settings, wanted=5, timeout=60)
    assert len(got[topics.ENRICHED]) == 2
    assert worker.alive()


async def test_every_input_accounted_for(broker, make_worker, seed_bytes):
    settings = settings_for(broker)
    await ensure_topics(settings)
    worker = make_worker("newsflow").start()
    good = [RawArticle.from_bytes(f"Story {i}\n\nBody number {i} about the local council and road works {i * 7}."
                                  .encode(), f"gen/{i}.txt") for i in range(20)]
    copies = [RawArticle.from_bytes(good[i].payload_bytes(), f"gen/copy-{i}.txt") for i in range(5)]
    bad = [RawArticle.from_bytes(b, f"gen/bad-{i}") for i, b in enumerate([b"", b"{", b"\xff" * 10, b"[]", b" "])]
    oversize = [RawArticle.from_bytes(b"x" * 3_000_000, "gen/huge.txt")]
    inputs = good + copies + bad + oversize
    await publish_raw(settings, inputs)
    got = await collect(settings, wanted=len(inputs), timeout=150)
    counts = {t: len(v) for t, v in got.items()}
    assert counts == {topics.ENRICHED: 20, topics.DUPLICATES: 5, topics.DLQ: 6}, worker.log()[-3000:]
    origins = sorted(orjson.loads(v)["origin"] for vs in got.values() for v in vs)
    assert origins == sorted(r.origin for r in inputs)
    huge = [orjson.loads(v) for v in got[topics.DLQ] if orjson.loads(v)["origin"] == "gen/huge.txt"][0]
    assert "over the limit" in huge["reason"] and huge["payload_truncated"]
    assert worker.alive()
