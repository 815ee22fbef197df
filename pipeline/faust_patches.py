"""Two corrections to faust-streaming 0.15.3, installed by ``create_app``; each says what it fixes.

Both replace a method on a Faust class and keep the original, so installing twice changes nothing.

1. ``set_fetch_max_wait`` (issue 9, benchmark): Faust creates its aiokafka consumer with
   ``fetch_max_wait_ms=1500`` and has no setting for it; on a quiet partition every hop then waits up to
   1.5 s.

2. ``guard_acks_across_rebalances`` (issue 8, reliability): an acknowledgement that arrives after a
   rebalance for a record fetched before it could commit past records that were never processed.

   What happened, step by step (measured in ``tests/chaos/test_kill_rebalance.py``, 2026-11-26): a second
   worker joins and leaves again a few seconds later, so the first worker goes through two rebalances.
   At the first one Faust empties the agents' input queues (those records are to be fetched again from
   the committed offset) and forgets the committed offset of every partition it held. The tag agent's
   ``stream.take`` buffer and the batch it was working on are not emptied: they finish afterwards and
   acknowledge their records. With the committed offset forgotten, Faust's ``_new_offset`` has nothing to
   compare the acknowledged offsets with and commits the highest one, past the records that were
   dropped from the queues. The next rebalance seeks to that commit and they are never read again. With the
   timing forced, 10 runs of 12 lost 1 to 48 of 1,560 inputs; with the second worker stopped while still
   joining, 2 runs of 9 lost 139 and 383.

   The guard: an acknowledgement counts only for a record fetched in the current consumer generation and
   while the flow is running. Any other record is marked done but not counted; Faust seeks back to the
   committed offset after every rebalance, so it is fetched and processed again (at-least-once; the
   deterministic ids make the second copy an upsert downstream). Once the committed offset is known
   again, Faust's own check (no commit across a hole in the acknowledged offsets) does the rest.

   The price is more redelivery: work finished on records fetched before a rebalance is done again.
"""

from __future__ import annotations


def set_fetch_max_wait(ms: int) -> None:
    """Make the worker's consumer ask the broker to hold a fetch at most ``ms`` milliseconds."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    original = getattr(AIOKafkaConsumerThread, "_newsflow_original_create", None)
    if original is None:
        original = AIOKafkaConsumerThread._create_worker_consumer
        AIOKafkaConsumerThread._newsflow_original_create = original  # type: ignore[attr-defined]

    def create(self, transport):
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = ms  # aiokafka 0.14 reads it when the consumer starts
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]


def is_stale(consumer, message) -> bool:
    """True when ``message`` was fetched before the consumer's latest rebalance (or one is under way)."""
    generation = getattr(message, "generation_id", None)
    if generation is not None and generation != consumer.app.consumer_generation_id:
        return True
    return not consumer.flow_active  # the flow stops at a revocation and restarts once positions are reset


def guard_acks_across_rebalances() -> None:
    from faust.transport.consumer import Consumer
    from faust.types.tuples import ack_lock

    if getattr(Consumer, "_newsflow_ack_guard", False):
        return
    original_ack = Consumer.ack

    def ack(self, message) -> bool:
        with ack_lock:
            if not message.acked and is_stale(self, message):
                message.acked = True  # done with, but its offset is not counted: it comes again after the seek
                self._unacked_messages.discard(message)
                return False
        return original_ack(self, message)

    Consumer.ack = ack  # type: ignore[method-assign]
    Consumer._newsflow_ack_guard = True  # type: ignore[attr-defined]
