"""Publishing what the sources read: each readable input to news.raw, each unreadable one to news.dlq.

An input that cannot be read (``InputProblem``: empty, binary, too large, missing...) becomes a dead letter of
the ``ingest`` stage, so it is accounted for downstream like any article a stage rejected. Used by
``newsflow ingest`` and by ``newsflow run``'s supervisor; the feed poller shares ``open_producer``.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pipeline import topics
from pipeline.connectors.sources.files import InputProblem
from pipeline.errors import RejectedInput
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.clients import make_producer, max_message_bytes, start_with_retry
from pipeline.kafka.wire import encode
from pipeline.settings import Settings
from schemas import RawArticle


@asynccontextmanager
async def open_producer(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer, once every newsflow topic exists; stopped on the way out."""
    await ensure_topics(settings)
    producer = make_producer(settings)
    await start_with_retry(producer.start, settings)
    try:
        yield producer
    finally:
        await producer.stop()


@dataclass
class Published:
    """What ``publish_inputs`` did: how many inputs reached news.raw, and every one that did not (each is on
    news.dlq unless the broker refused that too: ``undelivered``)."""

    sent: int = 0
    rejected: list[InputProblem] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)


async def publish_inputs(settings: Settings, items: Iterable[RawArticle | InputProblem],
                         on_rejected: Callable[[InputProblem], None] | None = None) -> Published:
    """Send each readable input to news.raw and each problem to news.dlq as a dead letter of the ``ingest``
    stage. The size limit applies to the encoded message (JSON escaping can grow a payload sixfold): a message
    over what the producer may send, or one the broker refuses, becomes a problem too and the other inputs
    still go. ``on_rejected`` hears of each problem as it is known."""
    from pipeline.stages.chain import dead_letter  # the chain imports every stage: only when publishing

    limit = max_message_bytes(settings)
    done = Published()
    async with open_producer(settings) as producer:

        async def reject(p: InputProblem) -> None:
            done.rejected.append(p)
            if on_rejected is not None:
                on_rejected(p)
            dl = dead_letter(RejectedInput("ingest", p.origin, p.reason), p.payload, size=p.size)
            try:
                await producer.send_and_wait(topics.DLQ, value=encode(dl), key=p.origin.encode())
            except KafkaError as exc:
                done.undelivered.append(f"{p.origin}: not on {topics.DLQ} either: {type(exc).__name__}: {exc}")

        pending: list[tuple[RawArticle, asyncio.Future]] = []
        for item in items:
            if isinstance(item, InputProblem):
                await reject(item)
                continue
            value = encode(item)
            if len(value) > limit:
                await reject(InputProblem(item.origin, f"message of {len(value):,} bytes once encoded is over the "
                                                       f"limit of {limit:,}", item.payload_bytes()))
                continue
            try:
                pending.append((item, await producer.send(topics.RAW, value=value, key=item.origin.encode())))
            except KafkaError as exc:
                await reject(_refused(item, exc))
        for item, future in pending:
            try:
                await future
                done.sent += 1
            except KafkaError as exc:
                await reject(_refused(item, exc))
    return done


def _refused(item: RawArticle, exc: Exception) -> InputProblem:
    return InputProblem(item.origin, f"the broker refused it: {type(exc).__name__}: {exc}", item.payload_bytes())
