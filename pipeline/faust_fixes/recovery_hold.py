"""Hold the fetch flow while Faust seeks after a table recovery (issue 8, reliability).

After restoring a table from its changelog, Faust lost records that its own seek was meant to fetch
again, and the commit of the partition then stayed behind them for good (the kill -9 fault test hung
about one run in four). Upstream: faust-streaming/faust#216 reported the same order of events (resume,
then seek) for apps without tables, where it was fixed; robinhood/faust#115 shows the symptom
("DROPPED MESSAGE ROFF").

What happened (found with a per-partition trace of fetched, delivered, tracked and acknowledged
offsets, 2026-11-26): changelog recovery runs with the fetch flow on. When it ends,
``Recovery.on_recovery_completed`` resumes the stream partitions and only then seeks them to their
committed offsets, an await of about a second. The fetch loop keeps going meanwhile: records from the
committed offset onwards go into the agents' queues, and the batch still being delivered after the seek
moves Faust's "last offset read" back past the committed offset. Then ``flow_control.resume()`` empties
the queues, and the records fetched again after the seek are dropped as already read ("DROPPED MESSAGE
ROFF"). In the run traced, 280 records of each ``news.normalized`` partition were delivered to the tag
agent's queue and never reached it; with a hole in its acknowledged offsets the partition's commit never
moved again, and 206 of 5,200 inputs never came out.

The fix: stop the flow before ``on_recovery_completed`` and wait until the fetch loop has finished
delivering its last batch (``DeliveryTracking`` tells). Nothing is then fetched for the stream partitions
until Faust has sought them and resumed the flow itself, which is the order Faust already follows when
there is no table to recover (``Recovery._resume_streams``). The embedded broker's rewind after a data
loss (``pipeline/brokers/embedded_recovery.py``) seeks the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time

from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer

log = logging.getLogger("newsflow.worker")


class DeliveryTracking(Consumer):
    """A consumer that knows whether its fetch loop is handing out a batch (``_newsflow_delivering``): from the
    first record of a batch until it has finished with that batch. Mixed into the worker's consumer."""

    _newsflow_delivering = False  # prefixed: it must never clash with an attribute of a later Faust

    async def getmany(self, timeout: float):
        try:
            async for item in super().getmany(timeout):
                self._newsflow_delivering = True
                yield item
        finally:
            self._newsflow_delivering = False


async def stop_flow_and_wait(consumer, timeout_s: float = 10.0) -> bool:
    """Stop the consumer's fetch flow and wait until no fetched batch is still being delivered.

    Returns False, with a warning, if a batch was still being delivered after ``timeout_s``: the caller
    seeks anyway, which is Faust's own behaviour (the wait only narrows its race)."""
    consumer.stop_flow()  # the fetch loop stops at its next record; a delivery that is blocked is cancelled
    deadline = time.monotonic() + timeout_s
    while getattr(consumer, "_newsflow_delivering", False):
        if time.monotonic() > deadline:
            log.warning("the fetch loop was still delivering %.0f s after the flow stopped; seeking anyway", timeout_s)
            return False
        await asyncio.sleep(0.005)
    return True


class HoldingRecovery(Recovery):
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        if consumer.flow_active:
            await stop_flow_and_wait(consumer)
        await super().on_recovery_completed(generation_id)


class TableManager(FaustTableManager):
    """Faust's table manager with ``HoldingRecovery`` as its recovery service (Faust's ``TableManager``
    app setting)."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = HoldingRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
