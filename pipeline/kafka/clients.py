"""Plain aiokafka clients outside the Faust worker: connection, producer, publishing raw inputs, reading a topic.

Topic creation and other admin calls are in ``pipeline.kafka.admin``."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from pipeline import topics
from pipeline.errors import ConfigError
from pipeline.settings import Settings
from pipeline.kafka.wire import encode
from schemas import RawArticle

#: envelope and base64 overhead on top of the payload limit
MESSAGE_OVERHEAD = 2.0


def max_message_bytes(settings: Settings) -> int:
    return int(settings.max_payload_bytes * MESSAGE_OVERHEAD) + 64_000


async def start_with_retry(start, settings: Settings, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await start()
            return
        except KafkaConnectionError:
            if loop.time() > deadline:
                raise ConfigError(f"cannot reach the Kafka broker at {settings.broker}") from None
            await asyncio.sleep(0.5)


def make_producer(settings: Settings, **kw) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **settings.kafka_client_kwargs(),
        acks="all",
        max_request_size=max_message_bytes(settings),
        linger_ms=5,
        **kw,
    )


async def publish_raw(settings: Settings, records: Iterable[RawArticle], producer: AIOKafkaProducer | None = None) -> int:
    """Send raw records to news.raw, keyed by origin; returns how many were sent (and acknowledged)."""
    own = producer is None
    producer = producer or make_producer(settings)
    if own:
        await start_with_retry(producer.start, settings, 30.0)
    n = 0
    try:
        futures = []
        for rec in records:
            futures.append(await producer.send(topics.RAW, value=encode(rec), key=rec.origin.encode()))
            n += 1
        await asyncio.gather(*futures)
    finally:
        if own:
            await producer.stop()
    return n


async def read_topic(
    settings: Settings,
    topic: str,
    *,
    from_beginning: bool = True,
    group_id: str | None = None,
    idle_timeout: float | None = None,
) -> AsyncIterator[tuple[object, bytes]]:
    """Yield (message, value) from a topic, which must exist; stop after ``idle_timeout`` seconds without a
    message."""
    from pipeline.kafka.admin import require_topic  # admin builds on this module

    await require_topic(settings, topic)
    consumer = AIOKafkaConsumer(
        topic,
        **settings.kafka_client_kwargs(),
        group_id=group_id,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=group_id is not None,
        fetch_max_bytes=max_message_bytes(settings) * 4,
        max_partition_fetch_bytes=max_message_bytes(settings),
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
    )
    await start_with_retry(consumer.start, settings, 30.0)
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int((idle_timeout or 1.0) * 1000))
            if not batch:
                if idle_timeout is not None:
                    return
                continue
            for _tp, msgs in batch.items():
                for msg in msgs:
                    yield msg, msg.value
    finally:
        await consumer.stop()
