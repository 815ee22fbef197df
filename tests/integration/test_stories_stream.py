"""The stories stage in a real worker on a real broker (Apache Kafka by default), into a real PostgreSQL."""

from __future__ import annotations

import uuid

import orjson
import pytest

from pipeline import topics
from pipeline.kafka.admin import admin_client, ensure_topics, topic_partitions
from pipeline.kafka.clients import make_producer
from pipeline.kafka.wire import encode
from tests.conftest import collect, settings_for
from tests.services import PG_DSN, postgres_or_skip
from tests.unit.test_stories import T0, fire_report
from datetime import timedelta

from schemas import EnrichedArticle, Entity, Place

pytestmark = pytest.mark.integration


def other_incident() -> EnrichedArticle:
    return EnrichedArticle(
        id="x3", origin="test/x3", received_at=T0, published_at=T0, raw_format="text",
        url="https://tulsaworld.com/news/x3", title="City council approves new budget",
        body="The council voted 6-3 for the spending plan.",
        entities=[Entity(text="Mara Quinlan", label="PERSON", start=0, end=12)],
        places=[Place(name="Tulsa", geonames_id=4553433, country_code="US")], keywords=["budget", "council"])


async def test_stories_worker_publishes_articles_with_their_story_and_the_stories(broker, make_worker):
    settings = settings_for(broker)
    await ensure_topics(settings)
    assert topic_partitions(settings)[topics.UNCLUSTERED] == 1
    admin = admin_client(settings)
    await admin.start()
    try:
        from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

        described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topics.STORIES)])
        configs = {c[0]: c[1] for c in described[0].resources[0][4]}
        assert configs["cleanup.policy"] == "compact"
    finally:
        await admin.close()

    records = [EnrichedArticle.model_validate(a.model_dump()) for a in (
        fire_report("x1", "tulsaworld.com", "Warehouse blaze in Tulsa injures two firefighters"),
        other_incident(),
        fire_report("x2", "newson6.com", "Two firefighters hurt as Kellerman warehouse burns",
                    when=T0 + timedelta(hours=2)),
    )]
    p = make_producer(settings)
    await p.start()
    try:
        for r in records:
            await p.send_and_wait(topics.UNCLUSTERED, value=encode(r), key=r.id.encode())
    finally:
        await p.stop()
    worker = make_worker("stories", stages="stories").start()
    got = await collect(settings, wanted=6, timeout=120, topic_names=(topics.ENRICHED, topics.STORIES, topics.DLQ))
    assert got[topics.DLQ] == [], worker.log()[-3000:]
    arts = {a["id"]: a for a in map(orjson.loads, got[topics.ENRICHED])}
    assert set(arts) == {"x1", "x2", "x3"}, worker.log()[-3000:]
    assert arts["x1"]["story_id"] == arts["x2"]["story_id"] == "s-x1"
    assert arts["x3"]["story_id"] == "s-x3"
    assert {t["label"] for t in arts["x2"]["story"]["matched"]} >= {"Dana Whitcombe", "Tulsa"}
    stories = [orjson.loads(v) for v in got[topics.STORIES]]
    assert len(stories) == 3
    last = [s for s in stories if s["story_id"] == "s-x1"][-1]
    assert last["article_count"] == 2 and [m["article_id"] for m in last["members"]] == ["x1", "x2"]
    worker.stop()

    # a new worker recovers the stories table from its changelog: a later report joins the same story
    p = make_producer(settings)
    await p.start()
    try:
        late = EnrichedArticle.model_validate(fire_report(
            "x4", "kjrh.com", "Investigators search Kellerman warehouse ruins", when=T0 + timedelta(hours=6)).model_dump())
        await p.send_and_wait(topics.UNCLUSTERED, value=encode(late), key=b"x4")
    finally:
        await p.stop()
    again = make_worker("stories", stages="stories").start()
    got = await collect(settings, wanted=8, timeout=120, topic_names=(topics.ENRICHED, topics.STORIES))
    arts = {a["id"]: a for a in map(orjson.loads, got[topics.ENRICHED])}
    assert arts.get("x4", {}).get("story_id") == "s-x1", again.log()[-3000:]
    assert "rebuilt from table" in again.log()
    again.stop()

    # the PostgreSQL sink: articles, their story membership and the stories
    conn = postgres_or_skip()
    table = f"nf_test_{uuid.uuid4().hex[:10]}"
    try:
        from pipeline.connectors.sinks import run_sink
        from pipeline.connectors.sinks.postgres import PostgresSink

        n = await run_sink(settings, PostgresSink(PG_DSN, table), "stories-sink", limit=4, idle_timeout=30)
        assert n == 4
        rows = conn.execute(f'SELECT story_id, title, article_count, sources FROM "{table}_stories" '
                            "ORDER BY story_id").fetchall()
        assert rows == [("s-x1", "Warehouse blaze in Tulsa injures two firefighters", 3,
                         ["kjrh.com", "newson6.com", "tulsaworld.com"]),
                        ("s-x3", "City council approves new budget", 1, ["tulsaworld.com"])]
        members = dict(conn.execute(f'SELECT article_id, story_id FROM "{table}_story_members"').fetchall())
        assert members == {"x1": "s-x1", "x2": "s-x1", "x3": "s-x3", "x4": "s-x1"}
        kinds = conn.execute(f'SELECT kinds FROM "{table}_story_members" WHERE article_id = %s', ("x2",)).fetchone()[0]
        assert "what" in kinds
    finally:
        for t in (table, f"{table}_stories", f"{table}_story_members"):
            conn.execute(f'DROP TABLE IF EXISTS "{t}"')
        conn.close()
