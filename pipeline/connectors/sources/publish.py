"""Publishing what the sources read: each readable input to news.raw, each unreadable one to news.dlq.

An input that cannot be read (``InputProblem``: empty, binary, too large, missing...) becomes a dead letter of
the ``ingest`` stage, so it is accounted for downstream like any article a stage rejected. Used by
``newsflow ingest`` and by ``newsflow run``'s supervisor; the feed poller shares ``open_producer``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Iterable

from aiokafka import AIOKafkaProducer

from pipeline import topics
from pipeline.connectors.sources.files import InputProblem
from pipeline.errors import RejectedInput
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.clients import make_producer, publish_raw, start_with_retry
from pipeline.kafka.wire import encode
from pipeline.settings import Settings
from schemas import RawArticle


@asynccontextmanager
async def open_producer(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer, once every newsflow topic exists; stopped on the way out."""
    await ensure_topics(settings)
    producer = make_producer(settings)
    await start_with_retry(producer.start, settings, 30.0)
    try:
        yield producer
    finally:
        await producer.stop()


async def publish_inputs(settings: Settings, items: Iterable[RawArticle | InputProblem]) -> int:
    """Send the problems to news.dlq as dead letters, then the rest to news.raw; returns how many went to news.raw."""
    from pipeline.stages.chain import dead_letter  # the chain imports every stage: only when publishing

    items = list(items)
    problems = [i for i in items if isinstance(i, InputProblem)]
    raws = [i for i in items if not isinstance(i, InputProblem)]
    async with open_producer(settings) as producer:
        for p in problems:
            dl = dead_letter(RejectedInput("ingest", p.origin, p.reason), p.payload)
            await producer.send_and_wait(topics.DLQ, value=encode(dl), key=p.origin.encode())
        return await publish_raw(settings, raws, producer)
