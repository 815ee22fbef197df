"""How long the broker may hold the worker's fetch requests (issue 9, benchmark).

Faust creates the worker's aiokafka consumer with ``fetch_max_wait_ms=1500`` written in its code
(``AIOKafkaConsumerThread._create_worker_consumer``) and has no setting for it. On a quiet partition
every hop of the pipeline can then wait up to 1.5 s, and the embedded broker (Tansu) does not answer a
waiting fetch as soon as a record arrives, so there it is every hop. No upstream issue was found.

``ConsumerThread`` sets the consumer's wait to the ``fetch_max_wait_ms`` setting when one is given;
unset (the default on Kafka), Faust's own 1,500 ms stands.
"""

from __future__ import annotations

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

#: Faust's hard-coded value, kept when the setting is unset
FAUST_FETCH_MAX_WAIT_MS = 1500


class ConsumerThread(AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        settings = getattr(self.app, "newsflow_settings", None)
        ms = getattr(settings, "fetch_max_wait_ms", None)
        if ms is not None:
            consumer._fetch_max_wait_ms = ms  # aiokafka 0.14 reads it when the consumer starts
        return consumer
