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
Upstream: the one-producer-per-co-partitioned-partition design of robinhood/faust#280 (which introduced
exactly-once); reports of exactly-once outputs that misbehave: faust-streaming/faust#517, #177. The Faust
version is checked at start-up (``check_version``, ``TESTED_FAUST_VERSIONS``).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator, Optional

from faust.transport.consumer import TopicPartitionGroup, TransactionManager
from faust.types import TP

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

