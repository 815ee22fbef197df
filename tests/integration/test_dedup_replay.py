"""Issue 17 on the test broker (Apache Kafka by default): `newsflow replay --since` replays the dedup
decisions the workers made, in republish mode and in-process, instead of deciding again."""

import asyncio
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from typer.testing import CliRunner

from pipeline import topics
from pipeline.cli import app as cli_app
from pipeline.kafka.admin import ensure_topics
from tests.conftest import collect, settings_for
from tests.integration.test_dedup_stream import produce, wait_ready
from tests.unit.test_dedup import STORY, syndicated

pytestmark = pytest.mark.integration

ORIGINAL = orjson.dumps({"title": "Bank of England keeps rates on hold", "body": "\n\n".join(STORY),
                         "published": "2025-03-05"})
COPY = orjson.dumps({"title": "Bank of England holds rates - sources", "body": syndicated(), "published": "2025-03-05"})
BULLETIN = b"Council bulletin\n\nThe city council meets on Thursday to vote on the budget for the libraries."
LATER = b"Weather bulletin\n\nHeavy rain is expected across the north of the region on Friday afternoon."


def by_topic(got: dict) -> dict[str, list[str]]:
    return {t: sorted(orjson.loads(v)["origin"] for v in vs) for t, vs in got.items()}


def replay(broker, *args: str):
    """The command, as a user runs it (in a thread: it runs its own event loop)."""
    res = CliRunner().invoke(cli_app, ["--broker", broker.address, "replay", *args], env=broker.env())
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


async def test_replay_since_gives_the_same_dedup_decisions_in_any_order(broker, make_worker):
    settings = settings_for(broker, partitions=2)
    await ensure_topics(settings)
    since = (datetime.now(timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S")
    # the sweep as often as it can run: version 2 forgot both 2025 articles at the first one after the bulletin
    worker = make_worker("newsflow", stages="parse,dedup", extra_env={"NEWSFLOW_DEDUP_SWEEP_INTERVAL_S": "0.05"}).start()
    await wait_ready(worker, 0, timeout=60)
    out = (topics.UNIQUE, topics.DUPLICATES, topics.DLQ)
    await produce(settings, ORIGINAL, "wire/original.json", partition=0)
    assert len((await collect(settings, 1, timeout=40, topic_names=out))[topics.UNIQUE]) == 1, worker.log()[-3000:]
    await produce(settings, COPY, "outlet/copy.json", partition=1)
    await produce(settings, BULLETIN, "council/bulletin.txt", partition=0)  # undated: published now
    await asyncio.sleep(0.5)
    await produce(settings, LATER, "weather/later.txt", partition=0)
    got = by_topic(await collect(settings, 4, timeout=40, topic_names=out))
    assert got[topics.DUPLICATES] == ["outlet/copy.json"], (got, worker.log()[-3000:])
    assert len(got[topics.UNIQUE]) == 3

    # republish the copy alone (partition 1): the live worker replays its decision
    await asyncio.to_thread(replay, broker, "--since", since, "-p", "1")
    got = by_topic(await collect(settings, 5, timeout=40, topic_names=out))
    assert got[topics.DUPLICATES] == ["outlet/copy.json", "outlet/copy.json"], (got, worker.log()[-3000:])
    assert "outlet/copy.json" not in got[topics.UNIQUE] and len(got[topics.UNIQUE]) == 3
    worker.stop()

    # in-process, seeded from the workers' changelog: the copy (twice now on partition 1), then the rest
    await asyncio.to_thread(replay, broker, "--since", since, "-p", "1", "--stages", "parse,dedup")
    await asyncio.to_thread(replay, broker, "--since", since, "-p", "0", "--stages", "parse,dedup")
    got = by_topic(await collect(settings, 10, timeout=40, topic_names=out))
    assert got[topics.DUPLICATES] == ["outlet/copy.json"] * 4, got
    assert got[topics.UNIQUE] == sorted(["wire/original.json", "council/bulletin.txt", "weather/later.txt"] * 2), got
    assert got.get(topics.DLQ, []) == []
