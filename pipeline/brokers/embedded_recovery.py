"""Surviving a broker that lost its data (issue 8).

A real Kafka cluster keeps topics, records and committed offsets across broker restarts. The embedded
broker (Tansu, memory-only) does not: after a restart every topic is gone, offsets start again at 0, and
the consumer group is new. Two things then go wrong in a worker that merely reconnects:

- Faust keeps its own in-memory positions (last offset read, last offset committed, acked offsets) and
  silently drops any message whose offset is below the last one it read ("DROPPED MESSAGE" in
  ``faust.transport.consumer``);
- its periodic commit can reach the new broker before the heartbeat notices the group is gone (Tansu
  numbers generations from 0 again and accepts the old member's commit), so the *new* group starts with
  the old, now meaningless offsets, and the rejoin seeks to them: the first new messages of every
  partition are skipped (measured: 10 to 30 of 30 lost after a 30 s outage).

``BrokerWatch`` re-creates the topics, detects the loss (topics gone, or a new cluster id) and, once
the consumer has re-joined the new group and no rebalance is running, rewinds every pipeline partition
it holds to offset 0 and commits 0: everything the new broker holds is read again. That is
at-least-once: a message processed between the rejoin and the rewind is processed twice, and the
deterministic ids and the dedup index make the second pass an upsert downstream, not a duplicate.
"""

from __future__ import annotations

import logging

from pipeline import topics
from pipeline.faust_fixes.recovery_hold import stop_flow_and_wait
from pipeline.kafka.admin import cluster_id, ensure_topics
from pipeline.settings import Settings

log = logging.getLogger("newsflow.worker")


def register_broker_watch(app, settings: Settings) -> "BrokerWatch":
    """Run the watch every ``topic_check_interval_s`` (on by default only with the embedded broker)."""
    watch = BrokerWatch(app, settings)

    @app.timer(settings.topic_check_interval_s)
    async def check_broker() -> None:
        """Topics gone (a broker that lost its data, like the memory-only embedded one after a restart):
        create them again and read them from the start."""
        await watch.tick()

    return watch


class BrokerWatch:
    """Run every ``topic_check_interval_s``: re-create missing topics; after a data loss, reset positions."""

    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings
        self.cluster: str | None = None
        self.resets = 0
        self.pending_reset = False
        self.member_before: str | None = None  # consumer-group member id before the loss was seen

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
        if lost:
            self.resets += 1
            self.pending_reset = True
            log.warning("the broker lost its data (topics gone or new cluster id): every pipeline partition "
                        "will be read again from offset 0 once this worker has re-joined its group")
        if self.pending_reset:
            await self.rewind_if_rejoined()
        else:
            self.member_before = member_id(self.app)

    async def rewind_if_rejoined(self) -> None:
        """Rewind to offset 0 once the consumer holds an assignment from the *new* group."""
        app = self.app
        member = member_id(app)
        if not member or member == self.member_before or getattr(app, "rebalancing", False):
            return  # not re-joined yet, or a rebalance is running: try again next tick
        consumer = app.consumer
        tps = sorted(tp for tp in consumer.assignment() if tp.topic in topics.ALL_TOPICS)
        if not tps:
            return
        # Stop fetching first: a batch still being delivered after the seek would move Faust's "last offset
        # read" past the rewound position, and the records read again would be dropped as already read
        # (the race pipeline/faust_fixes/recovery_hold.py describes for table recovery).
        await stop_flow_and_wait(consumer)
        try:
            for tp in tps:
                # what Faust remembers of the lost log would filter or mis-commit the new one
                for attr in ("_acked", "_acked_index", "_gap"):
                    getattr(consumer, attr, {}).pop(tp, None)
                consumer._committed_offset[tp] = None
                await consumer.seek(tp, 0)
            await consumer._thread.commit({tp: 0 for tp in tps})
        finally:
            if not getattr(app, "rebalancing", False):  # a rebalance stops and resumes the flow itself
                consumer.resume_flow()
        self.pending_reset = False
        self.member_before = member
        log.warning("rewound %d partition(s) to offset 0 after the broker's data loss: %s", len(tps),
                    ", ".join(f"{tp.topic}/{tp.partition}" for tp in tps))


def member_id(app) -> str | None:
    """The consumer's group member id ('' while it has none), or None when it cannot be read."""
    try:
        return app.consumer._thread._ensure_consumer()._coordinator.member_id
    except Exception:  # noqa: BLE001 - not started yet, or another transport
        return None
