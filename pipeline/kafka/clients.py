"""Plain aiokafka clients outside the Faust worker: connection, producer, publishing raw inputs, reading a topic.

Topic creation and other admin calls are in ``pipeline.kafka.admin``."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import AsyncIterator, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError

from pipeline import topics
from pipeline.errors import ConfigError
from pipeline.settings import Settings
from pipeline.kafka.wire import encode
from schemas import RawArticle

#: envelope and base64 overhead on top of the payload limit
MESSAGE_OVERHEAD = 2.0


def max_message_bytes(settings: Settings) -> int:
    return int(settings.max_payload_bytes * MESSAGE_OVERHEAD) + 64_000


#: at most one line this often while a broker cannot be reached (ours, and aiokafka's own errors)
RETRY_LINE_EVERY_S = 5.0
log = logging.getLogger("newsflow.kafka")


class _OneLinePerInterval(logging.Filter):
    """aiokafka logs every failed connection attempt and fetch (hundreds of lines a minute while a broker is
    away): let one WARNING-or-worse record through per interval, across all of its loggers, and none while
    ``start_with_retry`` is saying it itself."""

    def __init__(self) -> None:
        super().__init__()
        self.next_at = 0.0
        self.quiet = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = time.monotonic()
        if self.quiet or now < self.next_at:
            return False
        self.next_at = now + RETRY_LINE_EVERY_S
        return True


_AIOKAFKA_FILTER = _OneLinePerInterval()


def _limit_aiokafka_logs() -> None:
    """Install the filter on every aiokafka logger that exists (they are made at import time)."""
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("aiokafka") and isinstance(logger, logging.Logger) \
                and _AIOKAFKA_FILTER not in logger.filters:
            logger.addFilter(_AIOKAFKA_FILTER)


async def start_with_retry(start, settings: Settings, timeout: float | None = None) -> None:
    """Start a client, retrying while the broker cannot be reached: one line per ``RETRY_LINE_EVERY_S`` and a
    ConfigError after ``timeout`` seconds (default ``reconnect_timeout_s``)."""
    _limit_aiokafka_logs()
    timeout = settings.reconnect_timeout_s if timeout is None else timeout
    loop = asyncio.get_running_loop()
    started = loop.time()
    said = started
    _AIOKAFKA_FILTER.quiet += 1
    try:
        while True:
            try:
                await _start_watched(start, settings, timeout)
                return
            except KafkaConnectionError:
                now = loop.time()
                if now - started > timeout:
                    raise ConfigError(f"cannot reach the Kafka broker at {settings.broker} "
                                      f"(tried for {timeout:.0f} s)") from None
                if now - said >= RETRY_LINE_EVERY_S:
                    said = now
                    log.warning("cannot reach the Kafka broker at %s yet; retrying for %.0f s more",
                                settings.broker, timeout - (now - started))
                await asyncio.sleep(0.5)
    except ConfigError:
        client = getattr(start, "__self__", None)  # the client whose start gave up: closed, not left unclosed
        if client is not None:
            await stop_client(client, settings)
        raise
    finally:
        _AIOKAFKA_FILTER.quiet -= 1


async def _start_watched(start, settings: Settings, timeout: float) -> None:
    """``start()``, which for a group member also waits for its first assignment (a whole session timeout on a
    first join): while it waits, check every ``RETRY_LINE_EVERY_S`` that the broker still accepts connections,
    and give up once it has not for ``timeout`` seconds (aiokafka would wait for the assignment forever)."""
    attempt = asyncio.ensure_future(start())
    lost_since: float | None = None
    try:
        while True:
            done, _ = await asyncio.wait({attempt}, timeout=RETRY_LINE_EVERY_S)
            if done:
                return attempt.result()
            if await _reachable(settings):
                lost_since = None
                continue
            now = time.monotonic()
            lost_since = lost_since or now
            if now - lost_since >= timeout:
                raise ConfigError(f"lost the Kafka broker at {settings.broker} while joining: unreachable for "
                                  f"{now - lost_since:.0f} s")
            log.warning("the Kafka broker at %s is unreachable; retrying for %.0f s more", settings.broker,
                        timeout - (now - lost_since))
    finally:
        if not attempt.done():
            attempt.cancel()


async def _reachable(settings: Settings) -> bool:
    """Whether one of the bootstrap servers accepts a TCP connection within a second."""
    for server in settings.bootstrap_servers:
        host, _, port = server.rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), 1.0)
        except (OSError, asyncio.TimeoutError):
            continue
        writer.close()
        return True
    return False


class BrokerWatch:
    """A long-running reader's bounded reconnect: after a fetch that brought nothing, at most every
    ``RETRY_LINE_EVERY_S``, ask the broker for its metadata; while it cannot be reached say so once per
    interval, and raise ConfigError once it has been away ``reconnect_timeout_s`` (``tail``, the sinks and
    ``consume()`` then exit instead of retrying forever)."""

    def __init__(self, consumer: AIOKafkaConsumer, settings: Settings):
        self.consumer, self.settings = consumer, settings
        self.checked_at = time.monotonic()
        self.lost_since: float | None = None

    def alive(self) -> None:
        """A fetch brought records: the broker is there."""
        self._lost(None)

    def close(self) -> None:
        self._lost(None)

    def _lost(self, since: float | None) -> None:
        """Note when the broker went away (None: it is there); aiokafka is kept quiet meanwhile, this says it."""
        if (self.lost_since is None) != (since is None):
            _AIOKAFKA_FILTER.quiet += 1 if since is not None else -1
        self.lost_since = since

    async def idle(self) -> None:
        now = time.monotonic()
        if now - self.checked_at < RETRY_LINE_EVERY_S:
            return
        self.checked_at = now
        try:
            await asyncio.wait_for(self.consumer.topics(), RETRY_LINE_EVERY_S)
        except (KafkaError, asyncio.TimeoutError):
            self._lost(self.lost_since or now)
            away = time.monotonic() - self.lost_since
            if away >= self.settings.reconnect_timeout_s:
                raise ConfigError(f"lost the Kafka broker at {self.settings.broker}: unreachable for "
                                  f"{away:.0f} s") from None
            log.warning("the Kafka broker at %s is unreachable; retrying for %.0f s more", self.settings.broker,
                        self.settings.reconnect_timeout_s - away)
            return
        if self.lost_since is not None:
            log.warning("the Kafka broker at %s is back", self.settings.broker)
        self._lost(None)


async def fetch(consumer: AIOKafkaConsumer, timeout_ms: int, **kw) -> dict:
    """``getmany``, given up as an empty fetch ``RETRY_LINE_EVERY_S`` after its own timeout: a group member
    whose coordinator went away waits for an assignment that never comes, inside getmany."""
    try:
        return await asyncio.wait_for(consumer.getmany(timeout_ms=timeout_ms, **kw),
                                      timeout_ms / 1000 + RETRY_LINE_EVERY_S)
    except asyncio.TimeoutError:
        return {}


async def stop_client(client, settings: Settings) -> None:
    """Stop an aiokafka client on the way out, within ``RETRY_LINE_EVERY_S``: with the broker gone its stop can
    wait on a commit or raise the CancelledError of its own cancelled fetch task, which would hide the error
    that brought us here (already being raised). Our own task being cancelled still propagates."""
    try:
        await asyncio.wait_for(client.stop(), RETRY_LINE_EVERY_S)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.debug("stopping a client of %s: its own task was cancelled", settings.broker)
    except (KafkaError, asyncio.TimeoutError) as exc:
        log.debug("stopping a client of %s: %s", settings.broker, exc)


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
        await start_with_retry(producer.start, settings)
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
    await start_with_retry(consumer.start, settings)
    watch = BrokerWatch(consumer, settings)
    try:
        while True:
            batch = await fetch(consumer, int((idle_timeout or 1.0) * 1000))
            if not batch:
                if idle_timeout is not None:
                    return
                await watch.idle()
                continue
            watch.alive()
            for _tp, msgs in batch.items():
                for msg in msgs:
                    yield msg, msg.value
    finally:
        await stop_client(consumer, settings)
        watch.close()
