"""Three corrections to faust-streaming 0.15.3, installed by ``create_app``; each says what it fixes.

Each replaces a method on a Faust class and keeps the original, so installing twice changes nothing.

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

   It sits on ``Consumer.ack``, the path of the batching agents (``stream.take``: tag, enrich), whose
   acknowledgements arrive late. The one-at-a-time agents (``stream.events``) are acknowledged inline by
   Faust's compiled stream iterator, which does not call ``Consumer.ack``; their one record in flight is
   older than anything in their queue, so committing it never skips one.

   The price is more redelivery: work finished on records fetched before a rebalance is done again.

3. ``hold_flow_while_recovery_seeks`` (issue 8, reliability): after restoring a table from its changelog,
   Faust lost records that its own seek was meant to fetch again, and the commit of the partition then
   stayed behind them for good (the kill -9 fault test hung about one run in four).

   What happened (found with a per-partition trace of fetched, delivered, tracked and acknowledged
   offsets, 2026-11-26): changelog recovery runs with the fetch flow on. When it ends,
   ``Recovery.on_recovery_completed`` resumes the stream partitions and only then seeks them to their
   committed offsets, an await of about a second. The fetch loop keeps going meanwhile: records from the
   committed offset onwards go into the agents' queues, and the batch still being delivered after the
   seek moves Faust's "last offset read" back past the committed offset. Then ``flow_control.resume()``
   empties the queues, and the records fetched again after the seek are dropped as already read
   ("DROPPED MESSAGE ROFF"). In the run traced, 280 records of each ``news.normalized`` partition were
   delivered to the tag agent's queue and never reached it; with a hole in its acknowledged offsets the
   partition's commit never moved again, and 206 of 5,200 inputs never came out.

   The fix: stop the flow before ``on_recovery_completed`` and wait until the fetch loop has finished
   delivering its last batch. Nothing is then fetched for the stream partitions until Faust has sought
   them and resumed the flow itself, which is the order Faust already follows when there is no table to
   recover (``Recovery._resume_streams``).
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


def _track_delivery() -> None:
    """Mark a consumer as delivering (``_newsflow_delivering``) from the moment its fetch loop hands out the
    first record of a batch until it has finished with that batch."""
    from faust.transport.consumer import Consumer

    if getattr(Consumer, "_newsflow_original_getmany", None) is not None:
        return
    original = Consumer.getmany
    Consumer._newsflow_original_getmany = original  # type: ignore[attr-defined]

    async def getmany(self, timeout: float):
        try:
            async for item in original(self, timeout):
                self._newsflow_delivering = True
                yield item
        finally:
            self._newsflow_delivering = False

    Consumer.getmany = getmany  # type: ignore[method-assign]


async def stop_flow_and_wait(consumer, timeout_s: float = 10.0) -> bool:
    """Stop the consumer's fetch flow and wait until no fetched batch is still being delivered.

    Returns False, with a warning, if a batch was still being delivered after ``timeout_s``: the caller
    seeks anyway, which is Faust's own behaviour (the wait only narrows its race)."""
    import asyncio
    import logging
    import time

    consumer.stop_flow()  # the fetch loop stops at its next record; a delivery that is blocked is cancelled
    deadline = time.monotonic() + timeout_s
    while getattr(consumer, "_newsflow_delivering", False):
        if time.monotonic() > deadline:
            logging.getLogger("newsflow.worker").warning(
                "the fetch loop was still delivering %.0f s after the flow stopped; seeking anyway", timeout_s)
            return False
        await asyncio.sleep(0.005)
    return True


def hold_flow_while_recovery_seeks() -> None:
    from faust.tables.recovery import Recovery

    _track_delivery()
    if getattr(Recovery, "_newsflow_original_on_recovery_completed", None) is not None:
        return
    Recovery._newsflow_original_on_recovery_completed = Recovery.on_recovery_completed  # type: ignore[attr-defined]

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        if consumer.flow_active:
            await stop_flow_and_wait(consumer)
        await Recovery._newsflow_original_on_recovery_completed(self, generation_id)

    Recovery.on_recovery_completed = on_recovery_completed  # type: ignore[method-assign]
