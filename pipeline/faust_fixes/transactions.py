"""Exactly-once for a pipeline whose outputs are not co-partitioned with its inputs.

Faust's ``TransactionManager.send`` picks the transactional producer by the *destination* topic and partition
(``{app}-{group of the destination topic}-{destination partition}``), while ``commit`` sends each *source*
partition's offsets in the transaction named after that source partition. That only meets when a stage writes
to the partition it read, in the same topic group. newsflow's stages do not: news.raw's 4 partitions feed
news.parsed's one, and articles move between partitions by key. A record sent to news.parsed went into a
transaction that no commit ever closed, Kafka aborted it after ``transaction.timeout.ms``, and a
``read_committed`` reader (the next stage, in exactly-once mode) never saw it: nothing came out at all
(measured here with faust-streaming 0.15.3 on Apache Kafka 4.4.0).

The fix is Kafka Streams' model: one transaction per *input* partition. The agent says which input record it is
writing for (``source_partition``); ``send`` puts the output in that input partition's transaction, the one
``commit`` closes with the input's offset, so the output and the offset are committed together or not at all.
Sends with no source set (a table's changelog written outside a delivery) keep Faust's choice.

A second gap, found by the kill -9 test in exactly-once mode (issue 17): Faust commits on a timer while the agents
go on, so a commit could close a transaction holding the outputs of records whose offsets it did not commit yet (a
batch of the tag stage half delivered, or one record between its send and its ack). After a kill -9 those records
were processed again and their outputs committed a second time: a ``read_committed`` reader saw 1,189 records for
600 articles. ``CommitBarrier`` is Kafka Streams' rule that a commit happens *between* records: a commit first
stops agents from starting on new input, waits until every input they started on is acknowledged, and only then
computes the offsets and commits; the agents go on when it is done.
Upstream: the one-producer-per-co-partitioned-partition design of robinhood/faust#280 (which introduced
exactly-once); reports of exactly-once outputs that misbehave: faust-streaming/faust#517, #177. The Faust
version is checked at start-up (``check_version``, ``TESTED_FAUST_VERSIONS``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any, AsyncIterator, Iterable, Iterator, Optional

from faust.transport.consumer import TopicPartitionGroup, TransactionManager
from faust.types import TP

log = logging.getLogger("newsflow.worker")

_SOURCE: ContextVar[Optional[TP]] = ContextVar("newsflow_source_partition", default=None)


@contextmanager
def source_partition(tp: TP) -> Iterator[None]:
    """Within this block, what the worker sends belongs to the transaction of input partition ``tp``."""
    token = _SOURCE.set(tp)
    try:
        yield
    finally:
        _SOURCE.reset(token)


class SourceTransactions(TransactionManager):
    async def send(self, topic: str, key: Optional[bytes], value: Optional[bytes], partition: Optional[int],
                   timestamp: Optional[float], headers: Any, *, transactional_id: Optional[str] = None) -> Any:
        source = _SOURCE.get()
        if source is None:
            return await super().send(topic, key, value, partition, timestamp, headers)
        group = self.app.assignor.group_for_topic(source.topic)
        tid = self.transactional_id_format.format(
            group_id=self.app.conf.id, tpg=TopicPartitionGroup(source.topic, source.partition, group))
        return await self.producer.send(topic, key, value, partition, timestamp, headers, transactional_id=tid)



class CommitBarrier:
    """Commits between records, in exactly-once mode: see the module's docstring.

    The agents call ``enter(messages)`` before they start on a batch of input records; ``commit_between_records()``
    is held around each commit (``BarrierCommits``). A record counts as finished once Faust marked its message
    acknowledged (``message.acked``: both of Faust's stream iterators set it, the compiled one without calling
    ``Consumer.ack``). A record whose agent died without acknowledging it would hold commits back for ever, so
    the wait gives up after ``drain_timeout_s`` with a warning (at-least-once for that record, never a stall).
    """

    def __init__(self, drain_timeout_s: float = 15.0):
        self.drain_timeout_s = drain_timeout_s
        self._open = asyncio.Event()
        self._open.set()
        self._lock = asyncio.Lock()
        self._in_flight: list[Any] = []

    @property
    def in_flight(self) -> int:
        self._in_flight = [m for m in self._in_flight if not m.acked]
        return len(self._in_flight)

    async def enter(self, messages: Iterable[Any]) -> None:
        while not self._open.is_set():
            await self._open.wait()
        if len(self._in_flight) > 256:
            self._in_flight = [m for m in self._in_flight if not m.acked]
        self._in_flight.extend(messages)

    @asynccontextmanager
    async def commit_between_records(self) -> AsyncIterator[bool]:
        """Yields True once every record an agent started on is acknowledged (False when the wait timed out)."""
        async with self._lock:
            self._open.clear()
            try:
                deadline = time.monotonic() + self.drain_timeout_s
                while self.in_flight and time.monotonic() < deadline:
                    await asyncio.sleep(0.002)
                drained = not self._in_flight
                if not drained:
                    log.warning("exactly-once: %d input records still unacknowledged %.0f s into a commit; committing "
                                "anyway (their outputs may be committed twice)", len(self._in_flight),
                                self.drain_timeout_s)
                yield drained
            finally:
                self._open.set()


class BarrierCommits:
    """Consumer mixin for exactly-once mode.

    - Every commit goes through the app's ``CommitBarrier`` (when it has one).
    - A hole at the head of a partition's acknowledged offsets that only transaction markers and aborted records
      fill is closed. Under ``read_committed`` those offsets are never delivered; Faust's gap tracking misses the
      ones between the committed offset and the first record fetched after a seek, and its ``_new_offset`` then
      refuses to commit that partition again (``min(acked) - committed > 1``): after a kill -9, the offsets of
      news.tagged stayed at 10 while 600 records were processed past them. The first offset fetched since the last
      seek proves that nothing visible lies before it, so the hole up to it is filled; a hole left by a record still
      in flight (or by ``ack_guard``'s uncounted records, fetched again after their seek) is not, since those were
      fetched after that first one.
    """

    _newsflow_first_fetched: dict | None = None

    def _first_fetched(self) -> dict:
        if self._newsflow_first_fetched is None:
            self._newsflow_first_fetched = {}
        return self._newsflow_first_fetched

    async def getmany(self, timeout: float):
        first = self._first_fetched()
        async for tp, message in super().getmany(timeout):  # type: ignore[misc]
            first.setdefault(tp, message.offset)
            yield tp, message

    async def seek(self, partition: Any, offset: int) -> None:
        self._first_fetched().pop(partition, None)
        await super().seek(partition, offset)  # type: ignore[misc]

    async def perform_seek(self) -> None:
        self._first_fetched().clear()
        await super().perform_seek()  # type: ignore[misc]

    def _new_offset(self, tp: Any) -> Optional[int]:
        if self.in_transaction:
            committed = self._committed_offset[tp]
            first = self._first_fetched().get(tp)
            acked = self._acked[tp]
            if committed is not None and first is not None and acked and first > committed and min(acked) >= first:
                have = self._acked_index[tp]
                filler = [o for o in range(committed, first) if o not in have]
                acked.extend(filler)
                have.update(filler)
                log.debug("exactly-once: %s offsets %d..%d hold only markers or aborted records", tp, committed, first - 1)
        return super()._new_offset(tp)  # type: ignore[misc]

    async def commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        barrier: CommitBarrier | None = getattr(self.app, "newsflow_commit_barrier", None)
        if barrier is None or not self.in_transaction:
            return await super().commit(topics, start_new_transaction=start_new_transaction)  # type: ignore[misc]
        async with barrier.commit_between_records():
            return await super().commit(topics, start_new_transaction=start_new_transaction)  # type: ignore[misc]
