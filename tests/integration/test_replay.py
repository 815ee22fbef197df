"""Replay (issue 7) on the test broker (Apache Kafka or Tansu, tests/conftest.py): time lookup fallback, id stability, group offsets."""

from datetime import datetime, timezone

import orjson
import pytest
from aiokafka import TopicPartition
from typer.testing import CliRunner

from pipeline.kafka import replay as rp
from pipeline import topics
from pipeline.cli import app as cli_app
from pipeline.errors import ConfigError
from pipeline.kafka.clients import make_producer, publish_raw
from pipeline.kafka.admin import ensure_topics
from pipeline.stages.parse import article_id
from schemas import Article, RawArticle
from tests.conftest import collect, settings_for

pytestmark = pytest.mark.integration

T0 = 1_700_000_000_000  # ms


async def produce_timed(settings, n: int, partition: int = 0) -> None:
    p = make_producer(settings)
    await p.start()
    try:
        for i in range(n):
            await p.send_and_wait(topics.RAW, value=f"Story {i}\n\nBody {i} about the harbour.".encode(),
                                  partition=partition, timestamp_ms=T0 + i * 1000)
    finally:
        await p.stop()


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


async def test_time_range_is_right_even_where_the_broker_answers_wrong(broker):
    settings = settings_for(broker)
    await ensure_topics(settings)
    await produce_timed(settings, 30)
    # what the broker itself answers for a time in the middle of the partition
    c = rp.make_consumer(settings)
    await c.start()
    try:
        tp = TopicPartition(topics.RAW, 0)
        c.assign([tp])
        answer = (await c.offsets_for_times({tp: T0 + 10_500}))[tp]
    finally:
        await c.stop()
    plan = await rp.plan_replay(settings, topics.RAW, since=at(T0 + 10_500), until=at(T0 + 20_000))
    r0 = {r.partition: r for r in plan.ranges}[0]
    # records 11..20 have timestamps in [since, until]
    assert (r0.start, r0.stop, r0.count) == (11, 21, 10)
    if answer is None or answer.offset != 11:
        assert r0.lookup == "scan"  # the wrong answer was detected (Tansu: offset 0) and replaced
    assert {r.partition: r.count for r in plan.ranges}[1] == 0
    # a time after every record, and one before every record
    late = await rp.plan_replay(settings, topics.RAW, since=at(T0 + 99_000))
    early = await rp.plan_replay(settings, topics.RAW, since=at(T0 - 5_000), partitions=[0])
    assert late.total == 0 and [(r.start, r.stop) for r in early.ranges] == [(0, 30)]


async def test_offset_ranges_and_dry_run(broker):
    settings = settings_for(broker)
    await ensure_topics(settings)
    await produce_timed(settings, 10, partition=0)
    await produce_timed(settings, 4, partition=1)
    plan = await rp.plan_replay(settings, topics.RAW, from_offsets=["2"], to_offsets=["0:5"])
    assert [(r.partition, r.start, r.stop) for r in plan.ranges] == [(0, 2, 6), (1, 2, 4)]
    plan = await rp.plan_replay(settings, topics.RAW, from_offsets=["1:1"])
    assert [(r.partition, r.start, r.stop) for r in plan.ranges] == [(1, 1, 4)]
    with pytest.raises(ConfigError, match="no partition 7"):
        await rp.plan_replay(settings, topics.RAW, partitions=[7])


def test_dry_run_cli_prints_counts_per_partition(broker):
    import asyncio

    settings = settings_for(broker)
    asyncio.run(ensure_topics(settings))
    asyncio.run(produce_timed(settings, 5))
    res = CliRunner().invoke(cli_app, ["--broker", broker.address, "replay", "--dry-run", "--from-offset", "1"])
    assert res.exit_code == 0, res.output
    assert "news.raw/0: offsets 1..4: 4 record(s)" in res.output
    assert "4 record(s) in 2 partition(s)" in res.output
    bad = CliRunner().invoke(cli_app, ["--broker", broker.address, "replay", "--since", "yesterday-ish"])
    assert bad.exit_code != 0 and "cannot read the time" in str(bad.exception)


async def test_in_process_replay_of_some_stages_keeps_ids_and_commits_nothing(broker):
    """No worker: parse+dedup run in the replay command; results land on news.unique / news.duplicates."""
    settings = settings_for(broker)
    await ensure_topics(settings)
    body = b"Harbour strike\n\nDock workers in the port of Antwerp stopped work on Monday over pay."
    await publish_raw(settings, [RawArticle.from_bytes(body, "feeds/a.txt"), RawArticle.from_bytes(body, "feeds/b.txt")])
    p = make_producer(settings)
    await p.start()
    bare = b"Bare story\n\nA producer wrote this text straight to news.raw without an envelope."
    md = await p.send_and_wait(topics.RAW, value=bare, partition=0)
    await p.stop()
    plan = await rp.plan_replay(settings, topics.RAW)
    counts = await rp.replay_in_process(settings, plan, rp.stages_to_run(topics.RAW, ["dedup", "parse"]))
    assert counts == {topics.UNIQUE: 2, topics.DUPLICATES: 1}
    got = await collect(settings, 3, timeout=20, topic_names=(topics.UNIQUE, topics.DUPLICATES))
    unique = [orjson.loads(v) for v in got[topics.UNIQUE]]
    ids = {u["origin"]: u["id"] for u in unique + [orjson.loads(v) for v in got[topics.DUPLICATES]]}
    assert ids["feeds/a.txt"] == article_id("feeds/a.txt", body)
    assert ids[f"news.raw/0@{md.offset}"] == article_id(f"news.raw/0@{md.offset}", bare)
    assert all(u["stage_versions"].keys() == {"parse", "dedup"} and u["pipeline_version"] for u in unique)
    # the workers' group was never touched
    assert set((await rp.committed_offsets(settings, settings.app_id, topics.RAW)).values()) == {None}
    with pytest.raises(ConfigError, match="contiguous"):
        rp.stages_to_run(topics.RAW, ["parse", "tag"])


async def test_republish_keeps_ids_and_reset_group_needs_stopped_workers(broker, make_worker, seed_bytes):
    """A worker running parse+dedup (the stages that give ids and judge duplicates); no model to load."""
    settings = settings_for(broker)
    await ensure_topics(settings)
    worker = make_worker("newsflow", stages="parse,dedup").start()
    await publish_raw(settings, [RawArticle.from_bytes(seed_bytes, "feeds/seed.txt")])
    p = make_producer(settings)
    await p.start()
    await p.send_and_wait(topics.RAW, value=b"Bare headline\n\nA bare story about rain in Kenya and Uganda.")
    await p.stop()
    out = (topics.UNIQUE, topics.DUPLICATES, topics.DLQ)
    got = await collect(settings, wanted=2, timeout=120, topic_names=out)
    first = [Article.model_validate(orjson.loads(v)) for v in got[topics.UNIQUE]]
    assert len(first) == 2, worker.log()[-3000:]

    # the in-process mode seeds its dedup index from the workers' changelog: it holds both articles
    index = await rp.load_dedup_index(settings)
    content_entries = [v for k, v in index.table.items() if k.startswith("c:")]  # "c:<hash>" -> [id, cluster, ts]
    assert {a.id for a in first} <= {v[0] for v in content_entries}

    plan = await rp.plan_replay(settings, topics.RAW)
    assert plan.total == 2
    assert await rp.replay_republish(settings, plan) == 2
    got = await collect(settings, wanted=4, timeout=90, topic_names=out)
    again = [Article.model_validate(orjson.loads(v)) for v in got[topics.UNIQUE]]
    assert len(again) == 4 and got[topics.DUPLICATES] == [] and got[topics.DLQ] == [], worker.log()[-3000:]
    assert sorted(a.id for a in again[2:]) == sorted(a.id for a in first)  # same ids: consumers upsert
    assert all(a.pipeline_version and set(a.stage_versions) == {"parse", "dedup"} for a in again)

    # --reset-group refuses while the workers are in the group
    with pytest.raises(ConfigError, match="live member"):
        await rp.reset_group(settings, plan, settings.app_id)
    # a group with no member (Kafka: its workers stopped) gets the range's start as committed offsets
    done = await rp.reset_group(settings, ReplayPlan_from(plan, start=1), "newsflow-stopped")
    assert set(done.values()) == {1}
    assert set((await rp.committed_offsets(settings, "newsflow-stopped", topics.RAW)).values()) == {1}
    worker.stop(kill=True)


def ReplayPlan_from(plan, start: int):
    return rp.ReplayPlan(plan.topic, [rp.PartitionRange(r.partition, start, r.stop) for r in plan.ranges])
