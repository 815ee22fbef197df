"""The broker goes away for 30 s and comes back on the same port, empty (the embedded broker is
memory-only): the worker survives, reconnects, re-creates its topics and processes new input without
being restarted. With a real Kafka cluster the topics and offsets survive a broker restart; only the
reconnecting part applies there.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from pipeline import topics
from pipeline.kafka.clients import publish_raw
from pipeline.kafka.admin import ensure_topics
from tests.chaos.ground_truth import TerminalReader, account, sink_rows, wait_for
from tests.chaos.harness import articles, report, rss_mb
from tests.conftest import settings_for

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.tansu]

OUTAGE_S = float(os.environ.get("NEWSFLOW_CHAOS_OUTAGE_S", "30"))


async def topics_present(settings) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs(), request_timeout_ms=3000)
    try:
        await admin.start()
        have = set(await admin.list_topics())
    except Exception:  # noqa: BLE001 - not up yet
        return False
    finally:
        await admin.close()
    return set(topics.ALL_TOPICS) <= have


async def test_worker_survives_broker_outage_and_processes_new_input(broker, make_worker, pg_table):
    settings = settings_for(broker, partitions=2)
    await ensure_topics(settings)
    worker = make_worker("newsflow", partitions=2,
                         extra_env={"NEWSFLOW_TOPIC_CHECK_INTERVAL_S": "2"}).start()
    before = articles("before", 30, seed=1)
    await publish_raw(settings, before)
    reader = await TerminalReader(settings).start()
    assert await reader.until({r.origin for r in before}, timeout=240), worker.log()[-3000:]
    await reader.stop()
    pid = worker.proc.pid

    t_down = time.monotonic()
    broker.stop()
    await asyncio.sleep(OUTAGE_S)
    assert worker.alive(), "the worker died while the broker was away:\n" + worker.log()[-3000:]
    broker.start()  # same port, no data: no topics, no consumer group, no committed offsets

    assert await wait_for(lambda: topics_present(settings), timeout=90), \
        "the worker did not re-create its topics:\n" + worker.log()[-3000:]
    t_topics = time.monotonic() - t_down - OUTAGE_S
    after = articles("after", 30, seed=2)
    await publish_raw(settings, after)
    reader = await TerminalReader(settings).start()
    try:
        came = await reader.until({r.origin for r in after}, timeout=240)
        t_flow = time.monotonic() - t_down - OUTAGE_S
        rows = sink_rows(pg_table, reader.records[topics.ENRICHED])
        acc = account([r.origin for r in after], rows, reader)
    finally:
        await reader.stop()
    report("broker-restart", outage_s=OUTAGE_S, topics_back_after_s=f"{t_topics:.1f}",
           new_input_out_after_s=f"{t_flow:.1f}", worker_rss_mb=f"{rss_mb(pid):.0f}", summary=acc.summary())
    assert came, acc.summary() + "\n" + worker.log()[-4000:]
    assert acc.ok, acc.summary()
    assert worker.alive() and worker.proc.pid == pid, "the worker was restarted"
    assert "rewound" in worker.log(), "the worker did not rewind its partitions after the data loss"
