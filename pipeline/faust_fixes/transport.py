"""Faust's aiokafka transport with newsflow's fixes, for the ``newsflow://`` broker URL.

Registered through Faust's ``faust.transports`` entry point (pyproject.toml), so ``faust.App(broker=
"newsflow://host:9092")`` uses it; every other app in the process keeps Faust's own classes.
"""

from __future__ import annotations

from faust.transport.drivers import aiokafka as faust_aiokafka

from pipeline.faust_fixes.ack_guard import AckGuard
from pipeline.faust_fixes.fetch_wait import ConsumerThread
from pipeline.faust_fixes.recovery_hold import DeliveryTracking
from pipeline.faust_fixes.transactions import BarrierCommits, SourceTransactions


class Consumer(BarrierCommits, DeliveryTracking, AckGuard, faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer
    TransactionManager = SourceTransactions
