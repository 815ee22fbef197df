"""Dedup on the test broker (Apache Kafka or Tansu, tests/conftest.py): copies on other partitions, and across a worker restart."""

import asyncio
import time

import orjson
import pytest

from pipeline import topics
from pipeline.kafka.clients import make_producer
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.wire import encode
from schemas import Article, DuplicateArticle, RawArticle
from tests.conftest import collect, settings_for
from tests.unit.test_dedup import STORY, syndicated

pytestmark = pytest.mark.integration

ORIGINAL = ("Bank of England keeps rates on hold\n\n" + "\n\n".join(STORY)).encode()
COPY = ("Bank of England holds rates - sources\n\n" + syndicated()).encode()


async def produce(settings, payload: bytes, origin: str, partition: int) -> None:
    p = make_producer(settings)
    await p.start()
    try:
        await p.send_and_wait(topics.RAW, value=encode(RawArticle.from_bytes(payload, origin)), partition=partition)
    finally:
        await p.stop()


async def wait_ready(worker, since: int, timeout: float = 40.0) -> None:
    """Until the worker has joined its group and recovered its table (its log says so)."""
    deadline = time.monotonic() + timeout
    while "Worker ready" not in worker.log()[since:]:
        assert worker.alive() and time.monotonic() < deadline, worker.log()[-3000:]
        await asyncio.sleep(0.3)


async def test_a_copy_on_another_partition_is_caught(broker, make_worker):
    settings = settings_for(broker, partitions=2)
    await ensure_topics(settings)
    worker = make_worker("dd-part", stages="parse,dedup").start()
    await produce(settings, ORIGINAL, "wire/original.txt", partition=0)
    await produce(settings, COPY, "outlet/copy.txt", partition=1)
    got = await collect(settings, wanted=2, timeout=50, topic_names=(topics.UNIQUE, topics.DUPLICATES))
    assert (len(got[topics.UNIQUE]), len(got[topics.DUPLICATES])) == (1, 1), worker.log()[-3000:]
    orig = Article.model_validate(orjson.loads(got[topics.UNIQUE][0]))
    dup = DuplicateArticle.model_validate(orjson.loads(got[topics.DUPLICATES][0]))
    # partitions are read concurrently: whichever copy reached the dedup stage first is the original
    assert {orig.origin, dup.origin} == {"wire/original.txt", "outlet/copy.txt"}
    assert orig.cluster_id == orig.id and dup.duplicate_kind == "near"
    assert dup.duplicate_of == orig.id and dup.cluster_id == orig.id and dup.similarity >= 0.55


async def test_worker_restart_recovers_the_index_from_its_changelog(broker, make_worker):
    settings = settings_for(broker, partitions=2)
    await ensure_topics(settings)
    worker = make_worker("dd-restart", stages="parse,dedup").start()
    await wait_ready(worker, 0)
    await produce(settings, ORIGINAL, "wire/original.txt", partition=0)
    got = await collect(settings, wanted=1, timeout=40, topic_names=(topics.UNIQUE,))
    assert len(got[topics.UNIQUE]) == 1, worker.log()[-3000:]
    orig = Article.model_validate(orjson.loads(got[topics.UNIQUE][0]))

    worker.stop()  # SIGTERM; the broker keeps running, the worker's memory store is gone with it
    assert not worker.alive()
    log_before = len(worker.log())
    worker.start()
    await wait_ready(worker, log_before)
    await produce(settings, COPY, "outlet/copy.txt", partition=1)
    # the same original again (a replay), to check the restarted worker still passes it as itself
    await produce(settings, ORIGINAL, "wire/original.txt", partition=1)
    got = await collect(settings, wanted=3, timeout=50, topic_names=(topics.UNIQUE, topics.DUPLICATES))
    log = worker.log()[log_before:]
    assert len(got[topics.DUPLICATES]) == 1, log[-3000:]
    dup = DuplicateArticle.model_validate(orjson.loads(got[topics.DUPLICATES][0]))
    assert dup.duplicate_of == orig.id and dup.duplicate_kind == "near"
    again = [Article.model_validate(orjson.loads(v)) for v in got[topics.UNIQUE]]
    assert [a.id for a in again] == [orig.id, orig.id]
    # recovered, not rebuilt from the input: the table came back from its changelog with the
    # original's keys, and the LSH was rebuilt from those keys
    assert "table recovered from its changelog" in log and "rebuilt from table" in log, log[-3000:]
    assert "1 article(s)" in log
