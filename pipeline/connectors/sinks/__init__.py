"""Sinks for ``news.enriched`` (issue 7): small classes with ``write(batch)``, ``flush()`` and ``close()``.

``run_sink`` drives one as a consumer group: fetch a batch, ``write`` it, ``flush`` it, then commit, so
what was committed is durable in the sink (at least once; both sinks are idempotent by article id
or tolerate repeats: PostgreSQL upserts, JSONL files may hold a record twice after a crash).
"""

from __future__ import annotations

import asyncio
from typing import Protocol, Sequence

from pipeline.settings import Settings
from schemas import EnrichedArticle


class Sink(Protocol):
    def write(self, batch: Sequence[EnrichedArticle]) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


async def run_sink(settings: Settings, sink: Sink, group_id: str, *, max_records: int = 500, wait_s: float = 1.0,
                   idle_timeout: float | None = None, limit: int | None = None, on_batch=None) -> int:
    """Feed the sink from ``news.enriched`` until stopped (or idle / ``limit`` records); returns the count."""
    from pipeline.kafka.consume import consume_batches

    loop = asyncio.get_running_loop()
    n = 0
    batches = consume_batches(settings, group_id, max_records=max_records, wait_s=wait_s, idle_timeout=idle_timeout)
    try:
        async for batch in batches:
            # blocking I/O off the event loop, so the consumer keeps heartbeating
            await loop.run_in_executor(None, _write_flush, sink, batch)
            n += len(batch)
            if on_batch:
                on_batch(len(batch))
            if limit is not None and n >= limit:
                break
    finally:
        await batches.aclose()
        await loop.run_in_executor(None, sink.close)
    return n


def _write_flush(sink: Sink, batch) -> None:
    sink.write(batch)
    sink.flush()
