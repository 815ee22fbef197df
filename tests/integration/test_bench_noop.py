"""The no-op worker mode the benchmark uses: records go news.raw -> news.enriched through all 5 hops, unchanged."""

import pytest

from pipeline import topics
from pipeline.kafka.clients import make_producer
from pipeline.kafka.admin import ensure_topics
from tests.conftest import collect, settings_for

pytestmark = pytest.mark.integration


async def test_noop_worker_forwards_every_record_unchanged_through_five_hops(broker, make_worker):
    settings = settings_for(broker)
    await ensure_topics(settings)
    make_worker("noopbench", extra_env={"NEWSFLOW_NOOP": "1", "NEWSFLOW_FETCH_MAX_WAIT_MS": "100"}).start()
    values = [b'{"not": "an article"}', b"plain bytes \x00\xff", b"third"]
    p = make_producer(settings)
    await p.start()
    try:
        for i, v in enumerate(values):
            await p.send_and_wait(topics.RAW, value=v, key=f"k{i}".encode())
    finally:
        await p.stop()
    got = await collect(settings, wanted=3, timeout=90, topic_names=(topics.ENRICHED, topics.DLQ))
    assert sorted(got[topics.ENRICHED]) == sorted(values)
    assert got[topics.DLQ] == []
    # every intermediate topic saw each record once
    hops = await collect(settings, wanted=12, timeout=30,
                         topic_names=(topics.PARSED, topics.UNIQUE, topics.NORMALIZED, topics.TAGGED))
    assert all(sorted(v) == sorted(values) for v in hops.values())
