"""Acknowledgements across rebalances (issue 8, reliability).

An acknowledgement that arrives after a rebalance for a record fetched before it could commit past
records that were never processed. Upstream, faust-streaming/faust#221 (records prefetched before a
rebalance delivered after it) and #312 (a wrong commit across a gap in the acknowledgements) are the
same class of fault; neither fix covers this case.

What happened, step by step (measured in ``tests/chaos/test_kill_rebalance.py``, 2026-11-26): a second
worker joins and leaves again a few seconds later, so the first worker goes through two rebalances. At
the first one Faust empties the agents' input queues (those records are to be fetched again from the
committed offset) and forgets the committed offset of every partition it held. The tag agent's
``stream.take_events`` buffer and the batch it was working on are not emptied: they finish afterwards and
acknowledge their records. With the committed offset forgotten, Faust's ``_new_offset`` has nothing to
compare the acknowledged offsets with and commits the highest one, past the records that were dropped
from the queues. The next rebalance seeks to that commit and they are never read again. With the timing
forced, 10 runs of 12 lost 1 to 48 of 1,560 inputs; with the second worker stopped while still joining,
2 runs of 9 lost 139 and 383.

The guard: an acknowledgement counts only for a record fetched in the current consumer generation and
while the flow is running. Any other record is marked done but not counted; Faust seeks back to the
committed offset after every rebalance, so it is fetched and processed again (at-least-once; the
deterministic ids make the second copy an upsert downstream). Once the committed offset is known again,
Faust's own check (no commit across a hole in the acknowledged offsets) does the rest.

It sits on ``Consumer.ack``, the path of the batching agents (``stream.take_events``: tag, enrich), whose
acknowledgements arrive late. The one-at-a-time agents (``stream.events``) are acknowledged inline by
Faust's compiled stream iterator, which does not call ``Consumer.ack``; their one record in flight is
older than anything in their queue, so committing it never skips one.

The price is more redelivery: work finished on records fetched before a rebalance is done again.
"""

from __future__ import annotations

from faust.transport.consumer import Consumer
from faust.types.tuples import ack_lock


def is_stale(consumer, message) -> bool:
    """True when ``message`` was fetched before the consumer's latest rebalance (or one is under way)."""
    generation = getattr(message, "generation_id", None)
    if generation is not None and generation != consumer.app.consumer_generation_id:
        return True
    return not consumer.flow_active  # the flow stops at a revocation and restarts once positions are reset


class AckGuard(Consumer):
    """Mixed into the worker's consumer (``pipeline.faust_fixes.transport.Consumer``)."""

    def ack(self, message) -> bool:
        with ack_lock:
            if not message.acked and is_stale(self, message):
                message.acked = True  # done with, but its offset is not counted: it comes again after the seek
                self._unacked_messages.discard(message)
                return False
        return super().ack(message)
