"""Which settings a worker gets: Kafka's defaults on a Kafka cluster, the workarounds only on the embedded
broker (pipeline/brokers/embedded.py), and what the worker process imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.brokers.embedded import EMBEDDED, EMBEDDED_PROFILE
from pipeline.settings import Settings
from pipeline.worker.app import create_app

KAFKA = {"session_timeout_s": 60.0, "rebalance_timeout_s": 60.0, "heartbeat_interval_s": 3.0,
         "producer_max_batch_bytes": 262144, "fetch_max_wait_ms": None, "topic_check_interval_s": 0.0}


def profile(s: Settings) -> dict:
    return {k: getattr(s, k) for k in KAFKA}


def test_a_kafka_cluster_gets_kafkas_defaults():
    assert profile(Settings(broker="kafka-1:9092,kafka-2:9092")) == KAFKA


def test_the_embedded_broker_gets_its_workarounds_unless_a_setting_is_given():
    assert profile(Settings(broker="127.0.0.1:9092", **EMBEDDED)) == EMBEDDED_PROFILE
    chosen = Settings(broker="127.0.0.1:9092", session_timeout_s=20.0, topic_check_interval_s=0, **EMBEDDED)
    assert chosen.session_timeout_s == 20.0 and chosen.topic_check_interval_s == 0
    assert chosen.producer_max_batch_bytes == 1  # the rest of the profile still applies


def test_the_embedded_broker_is_told_through_the_environment(monkeypatch):
    monkeypatch.setenv("NEWSFLOW_EMBEDDED_BROKER", "true")
    assert profile(Settings(broker="127.0.0.1:9092")) == EMBEDDED_PROFILE


async def test_the_worker_app_on_kafka_and_on_the_embedded_broker():
    on_kafka = create_app(Settings(broker="kafka-1:9092", app_id="t-kafka", web_enabled=False))
    on_tansu = create_app(Settings(broker="127.0.0.1:9092", app_id="t-tansu", web_enabled=False, **EMBEDDED))
    assert (on_kafka.conf.broker_session_timeout, on_kafka.conf.producer_max_batch_size) == (60.0, 262144)
    assert (on_tansu.conf.broker_session_timeout, on_tansu.conf.producer_max_batch_size) == (6.0, 1)
    assert on_kafka.newsflow_broker_watch is None  # no periodic admin polling on a cluster that keeps its data
    assert on_tansu.newsflow_broker_watch is not None
    thread = on_kafka.consumer._new_consumer_thread()
    assert thread._create_worker_consumer(on_kafka.transport)._fetch_max_wait_ms == 1500  # Faust's own
    thread = on_tansu.consumer._new_consumer_thread()
    assert thread._create_worker_consumer(on_tansu.transport)._fetch_max_wait_ms == 100


def test_the_transport_settings_reach_faust_and_acks_stay_all():
    """Issue 22: the worker's producer and stream settings come from newsflow's settings; acks=all is not one."""
    app = create_app(Settings(broker="kafka-1:9092", app_id="t-tune", web_enabled=False, producer_linger_ms=7,
                              producer_compression="gzip", consumer_max_poll_records=300, stream_buffer_maxsize=999,
                              commit_interval_s=1.5))
    c = app.conf
    assert (c.producer_linger, c.producer_acks, c.producer_compression_type) == (0.007, -1, "gzip")
    assert (c.broker_max_poll_records, c.stream_buffer_maxsize, c.broker_commit_interval) == (300, 999, 1.5)
    default = create_app(Settings(broker="kafka-1:9092", app_id="t-tune-default", web_enabled=False)).conf
    assert (default.producer_linger, default.producer_acks, default.producer_compression_type) == (0.005, -1, None)


def test_secrets_are_never_printed():
    s = Settings(broker="k:9092", sasl_password="hunter2", ingest_token="tok-123", postgres_dsn="postgresql://u:pw@h/db")
    assert "hunter2" not in repr(s) and "tok-123" not in repr(s) and "pw@" not in repr(s)
    assert s.kafka_client_kwargs().get("sasl_plain_password") is None  # PLAINTEXT: no SASL at all
    sasl = Settings(broker="k:9092", security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="hunter2")
    assert sasl.kafka_client_kwargs()["sasl_plain_password"] == "hunter2"


@pytest.mark.parametrize("module", ["pipeline.worker.app", "pipeline.cli"])
def test_the_worker_never_imports_the_measurement_code(module):
    code = (f"import sys, {module}; from pipeline.settings import Settings; "
            "from pipeline.worker.app import create_app; create_app(Settings(broker='k:9092')); "
            "print(sorted(m for m in sys.modules if m.startswith('pipeline.measure')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
