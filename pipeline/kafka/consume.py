"""Read the output topic as validated ``EnrichedArticle`` objects (issue 7).

    import asyncio
    from pipeline.kafka.consume import consume

    async def main():
        async for article in consume("127.0.0.1:9092", group_id="my-indexer"):
            print(article.id, article.title, [e.canonical for e in article.entities])

    asyncio.run(main())

Commit after processing: an article's offset is committed only once the loop asks for the *next*
one (and at the latest after each fetched batch), so an article whose processing raised, or that was
being processed when the process died, is delivered again to the group. Records that do not validate
are logged, passed to ``on_invalid`` and skipped (committed), so one bad record never blocks a
consumer. Re-processed articles (``newsflow replay``) come again with the same ``id`` and a
``pipeline_version``/``stage_versions`` that tell which code produced them: upsert by ``id``.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Callable, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pydantic import BaseModel, ValidationError

from pipeline import topics
from pipeline.kafka.admin import require_topic
from pipeline.kafka.clients import BrokerWatch, fetch, max_message_bytes, start_with_retry, stop_client
from pipeline.settings import Settings, load_settings
from pipeline.kafka.wire import decode
from schemas import EnrichedArticle

log = logging.getLogger("newsflow.consume")
M = TypeVar("M", bound=BaseModel)


def _settings(broker: str | Settings | None) -> Settings:
    if isinstance(broker, Settings):
        return broker
    return load_settings(broker=broker) if broker else load_settings()


def _consumer(settings: Settings, topic: str, group_id: str, from_beginning: bool) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        **settings.kafka_client_kwargs(),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        fetch_max_bytes=max_message_bytes(settings) * 4,
        max_partition_fetch_bytes=max_message_bytes(settings),
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        rebalance_timeout_ms=int(settings.rebalance_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
    )


async def _started(settings: Settings, topic: str, group_id: str, from_beginning: bool) -> AIOKafkaConsumer:
    """A started consumer of ``topic``, which must exist (ConfigError otherwise: reading never creates it)."""
    await require_topic(settings, topic)
    consumer = _consumer(settings, topic, group_id, from_beginning)
    await start_with_retry(consumer.start, settings)
    return consumer


def _decode_or_skip(m, model: type[M], on_invalid: Callable[[Any, Exception], None] | None) -> M | None:
    """The record as ``model``, or None (logged, and passed to ``on_invalid``) when it is not one."""
    try:
        return decode(m.value or b"", model)
    except (ValueError, ValidationError) as exc:
        log.warning("skipping %s/%s@%s: not a valid %s: %s", m.topic, m.partition, m.offset,
                    model.__name__, str(exc).splitlines()[0])
        if on_invalid:
            on_invalid(m, exc)
        return None


async def _fetches(consumer: AIOKafkaConsumer, settings: Settings, wait_s: float, max_records: int,
                   idle_timeout: float | None):
    """Non-empty fetches, until ``idle_timeout`` seconds pass without a record (None: until cancelled); a
    ConfigError once the broker has been unreachable for ``reconnect_timeout_s`` (``BrokerWatch``)."""
    idle = 0.0
    watch = BrokerWatch(consumer, settings)
    try:
        while True:
            fetched = await fetch(consumer, int(wait_s * 1000), max_records=max_records)
            if not fetched:
                idle += wait_s
                if idle_timeout is not None and idle >= idle_timeout:
                    return
                await watch.idle()
                continue
            idle = 0.0
            watch.alive()
            yield fetched
    finally:
        watch.close()


async def consume_batches(
    broker: str | Settings | None = None,
    group_id: str = "newsflow-consumer",
    *,
    topic: str = topics.ENRICHED,
    model: type[M] = EnrichedArticle,  # type: ignore[assignment]
    max_records: int = 500,
    wait_s: float = 1.0,
    from_beginning: bool = True,
    idle_timeout: float | None = None,
    on_invalid: Callable[[Any, Exception], None] | None = None,
) -> AsyncIterator[list[M]]:
    """Yield batches of validated records; a batch is committed when the next one is asked for.

    ``idle_timeout``: stop after that many seconds without a record (None: run until cancelled).
    """
    settings = _settings(broker)
    consumer = await _started(settings, topic, group_id, from_beginning)
    pending: dict[TopicPartition, OffsetAndMetadata] = {}
    try:
        async for fetched in _fetches(consumer, settings, wait_s, max_records, idle_timeout):
            batch: list[M] = []
            for tp, msgs in fetched.items():
                for m in msgs:
                    record = _decode_or_skip(m, model, on_invalid)
                    if record is not None:
                        batch.append(record)
                if msgs:
                    pending[tp] = OffsetAndMetadata(msgs[-1].offset + 1, "")
            if batch:
                yield batch  # resumes only after the caller processed the batch
            await consumer.commit(pending)
            pending = {}
    finally:
        await stop_client(consumer, settings)


async def consume(
    broker: str | Settings | None = None,
    group_id: str = "newsflow-consumer",
    *,
    topic: str = topics.ENRICHED,
    model: type[M] = EnrichedArticle,  # type: ignore[assignment]
    from_beginning: bool = True,
    idle_timeout: float | None = None,
    on_invalid: Callable[[Any, Exception], None] | None = None,
) -> AsyncIterator[M]:
    """Yield validated records one by one (``EnrichedArticle`` from ``news.enriched`` by default).

    An article counts as processed when the next one is asked for; processed offsets are committed
    after every fetched batch and when the generator closes (the article a loop broke on is *not*
    committed, it comes again). A loop that may ``break`` should close the generator at once, with
    ``async with contextlib.aclosing(consume(...)) as articles: async for a in articles: ...``;
    otherwise the final commit waits until the generator is garbage-collected.
    """
    settings = _settings(broker)
    consumer = await _started(settings, topic, group_id, from_beginning)
    done: dict[TopicPartition, OffsetAndMetadata] = {}
    try:
        async for fetched in _fetches(consumer, settings, 1.0, 500, idle_timeout):
            for tp, msgs in fetched.items():
                for m in msgs:
                    record = _decode_or_skip(m, model, on_invalid)
                    if record is not None:
                        yield record
                    done[tp] = OffsetAndMetadata(m.offset + 1, "")
            if done:
                await consumer.commit(done)
                done = {}
    finally:
        try:
            if done:
                await consumer.commit(done)
        finally:
            await stop_client(consumer, settings)
