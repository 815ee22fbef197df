"""Surviving a broker that lost its data (issue 8).

A real Kafka cluster keeps topics, records and committed offsets across broker restarts. The embedded
broker (Tansu, memory-only) does not: after a restart every topic is gone, offsets start again at 0, and
the consumer group is new. Faust keeps its own in-memory positions (last offset read, last offset
committed, acked offsets) and silently drops any message whose offset is below the last one it read
(``faust.transport.consumer``: "DROPPED MESSAGE"), so a worker that merely reconnects would skip the
first new messages of every partition. This module detects the loss (topics gone, or a new cluster id)
and resets those positions so the worker reads the new incarnation of every topic from its start.
"""

from __future__ import annotations

import logging

from pipeline import topics
from pipeline.kafka import ensure_topics
from pipeline.settings import Settings

log = logging.getLogger("newsflow.worker")


async def cluster_id(settings: Settings) -> str | None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs(), request_timeout_ms=5000)
    try:
        await admin.start()
        info = await admin.describe_cluster()
        return info.get("cluster_id")
    finally:
        await admin.close()


async def forget_positions(app) -> list:
    """Make the consumer read every assigned newsflow partition again from its first offset."""
    c = app.consumer
    tps = [tp for tp in c.assignment() if tp.topic in topics.ALL_TOPICS]
    c.stop_flow()
    try:
        for state in (c._read_offset, c._committed_offset, c._acked, c._acked_index, c._gap):  # noqa: SLF001
            state.clear()
        c._n_acked = 0  # noqa: SLF001
        for tp in tps:
            await c.seek(tp, 0)  # also sets faust's read offset of tp to "nothing read yet"
    finally:
        c.resume_flow()
    return tps


class BrokerWatch:
    """Run every ``topic_check_interval_s``: re-create missing topics; after a data loss, reset positions."""

    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings
        self.cluster: str | None = None
        self.resets = 0

    async def tick(self) -> None:
        changelogs = {t.changelog_topic.get_topic_name(): (t.partitions or self.settings.partitions,
                                                           {"cleanup.policy": "compact"})
                      for t in self.app.tables.values()}
        try:
            cid = await cluster_id(self.settings)
            created = await ensure_topics(self.settings, timeout=5.0, extra=changelogs)
        except Exception as exc:  # noqa: BLE001 - the broker may be down right now; try again next tick
            log.info("broker check failed (%s); retrying in %.0f s", exc, self.settings.topic_check_interval_s)
            return
        lost = bool(set(created) & set(topics.ALL_TOPICS)) or (self.cluster is not None and cid != self.cluster)
        self.cluster = cid
        if created:
            log.warning("re-created missing topics: %s", ", ".join(created))
        if lost and self.app.consumer is not None:
            try:
                tps = await forget_positions(self.app)
            except Exception:  # noqa: BLE001 - never crash the worker from here; the next tick tries again
                log.exception("could not reset the consumer positions after the broker lost its data")
                self.cluster = None
                return
            self.resets += 1
            log.warning("the broker lost its data (topics gone or new cluster id): reading %d partition(s) "
                        "again from the start", len(tps))
