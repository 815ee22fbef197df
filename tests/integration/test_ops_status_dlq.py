"""Issue 21: ``newsflow status`` from the broker alone, and dead letters re-driven after a fix end enriched exactly
once with their ids (real worker processes, the test broker)."""

import asyncio
import os
import subprocess
import sys

import orjson
import pytest

from pipeline import topics
from pipeline.kafka.admin import ensure_topics, topic_partitions
from pipeline.kafka.clients import publish_raw
from pipeline.stages.parse import article_id
from schemas import DeadLetter, RawArticle
from tests.conftest import collect, settings_for
from tests.integration.test_ops_worker import articles

pytestmark = pytest.mark.integration


def newsflow(broker, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSFLOW_BROKER": broker.address, **broker.env()}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


async def status_until(broker, settings, ok, timeout: float = 60.0) -> dict:
    """The status until ``ok(doc)`` (the group commits every few seconds), then ``newsflow status --json``'s."""
    from pipeline.ops.status import cluster_status

    deadline = asyncio.get_running_loop().time() + timeout
    while not ok(await cluster_status(settings)) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
    done = await asyncio.to_thread(newsflow, broker, "status", "--json")
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


async def test_status_then_dead_letters_redriven_after_a_fix_end_enriched_once(broker, make_worker):
    settings = settings_for(broker, app_id="fixme")
    await ensure_topics(settings)
    faulty = make_worker("fixme", extra_env={"NEWSFLOW_FAULT_INJECT": "parse:PARSEBUG,enrich:ENRICHBUG"}).start()
    good = articles(4, "redrive")
    bad_parse = RawArticle.from_bytes(b"Dockers return to work\n\nPARSEBUG the port of Rotterdam reopened on "
                                      b"Tuesday after a week of strikes over pay.", "redrive/parse-bug.txt")
    bad_enrich = RawArticle.from_bytes(b"Glacier retreat measured\n\nENRICHBUG scientists in Iceland measured the "
                                       b"retreat of the Vatnajokull glacier this summer.", "redrive/enrich-bug.txt")
    await publish_raw(settings, good + [bad_parse, bad_enrich])
    got = await collect(settings, wanted=6, timeout=150)
    assert {t: len(v) for t, v in got.items()} == {topics.ENRICHED: 4, topics.DUPLICATES: 0, topics.DLQ: 2}, \
        faulty.log()[-3000:]
    dead = {DeadLetter.model_validate(orjson.loads(v)).stage: DeadLetter.model_validate(orjson.loads(v))
            for v in got[topics.DLQ]}
    assert set(dead) == {"parse", "enrich"} and dead["enrich"].source_topic == topics.TAGGED

    # status, from the broker alone: the group, its member, no lag once committed, the last minute's counts
    doc = await status_until(broker, settings, lambda d: all(any(g["group"] == "fixme" and g["lag"] == 0 for g in s["groups"])
                                                   for s in d["stages"]))
    by_stage = {s["stage"]: s for s in doc["stages"]}
    for stage in topics.STAGES:
        g = [g for g in by_stage[stage]["groups"] if g["group"] == "fixme"]
        assert len(g) == 1 and g[0]["members"] == 1 and g[0]["lag"] == 0, (stage, by_stage[stage])
        assert len(g[0]["partitions"]) == topic_partitions(settings)[topics.STAGE_TOPICS[stage][0]]
    assert by_stage["parse"]["out_last_minute"] == 5 and by_stage["enrich"]["out_last_minute"] == 4
    assert doc["dead_letters"]["total"] == 2 and doc["dead_letters"]["last_minute"] == 2
    assert {(r["stage"], r["count"]) for r in doc["dead_letters"]["by_stage_reason"]} == {("parse", 1), ("enrich", 1)}
    text = await asyncio.to_thread(newsflow, broker, "status", "--watch", "0.2", "--times", "2")
    assert text.returncode == 0 and text.stdout.count("dead letters: 2") >= 1, text.stdout + text.stderr

    # the fix: the worker restarted without the faults
    faulty.stop()
    fixed = make_worker("fixme").start()

    listed = await asyncio.to_thread(newsflow, broker, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert {r["stage"] for r in rows} == {"parse", "enrich"} and all("@" in r["ref"] for r in rows)
    one = await asyncio.to_thread(newsflow, broker, "dlq", "list", "--stage", "enrich", "--json")
    assert [orjson.loads(line)["origin"] for line in one.stdout.splitlines()] == ["redrive/enrich-bug.txt"]
    shown = await asyncio.to_thread(newsflow, broker, "dlq", "show", rows[0]["ref"])
    assert shown.returncode == 0 and rows[0]["origin"] in shown.stdout and "payload" in shown.stdout
    missing = await asyncio.to_thread(newsflow, broker, "dlq", "show", "0@999")
    assert missing.returncode == 1 and "0@999: no dead letter there" in missing.stderr
    assert "Traceback" not in missing.stderr

    done = await asyncio.to_thread(newsflow, broker, "dlq", "redrive", "--all")
    assert done.returncode == 0, done.stderr
    assert "re-drove 2 dead letter(s): " in done.stderr and f"1 to {topics.RAW}" in done.stderr
    assert f"1 to {topics.TAGGED}" in done.stderr

    await collect(settings, wanted=8, timeout=90)
    await asyncio.sleep(5)  # time for a second copy to show up, were there one
    got = await collect(settings, wanted=9, timeout=3)  # 8 expected: a 9th would be a second copy
    assert {t: len(v) for t, v in got.items()} == {topics.ENRICHED: 6, topics.DUPLICATES: 0, topics.DLQ: 2}, \
        fixed.log()[-3000:]
    enriched = [orjson.loads(v) for v in got[topics.ENRICHED]]
    ids = [a["id"] for a in enriched]
    assert len(set(ids)) == 6  # each article enriched exactly once
    by_origin = {a["origin"]: a["id"] for a in enriched}
    assert by_origin["redrive/parse-bug.txt"] == article_id(bad_parse.origin, bad_parse.payload_bytes())
    assert by_origin["redrive/enrich-bug.txt"] == dead["enrich"].article_id
    assert fixed.alive()
