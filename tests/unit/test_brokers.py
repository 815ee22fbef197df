"""The local brokers' choice and the local Kafka's configuration, without starting a JVM."""

from __future__ import annotations

import pytest

from pipeline.brokers import local_broker, resolve_kind
from pipeline.brokers.embedded import EMBEDDED, EmbeddedBroker
from pipeline.brokers.kafka import LOCAL_PROFILE, LocalKafka, kafka_version
from pipeline.errors import ConfigError
from pipeline.settings import Settings


def test_kafka_version_comes_from_the_maven_file():
    assert kafka_version().startswith("4.")


def test_auto_means_kafka_where_java_is_and_says_why_otherwise(monkeypatch):
    said: list[str] = []
    monkeypatch.setattr("pipeline.brokers.kafka.java_problem", lambda: None)
    assert resolve_kind("auto", said.append) == "kafka" and said == []
    monkeypatch.setattr("pipeline.brokers.kafka.java_problem", lambda: "no `java` is on PATH")
    assert resolve_kind("auto", said.append) == "embedded"
    assert said and "no `java`" in said[0] and "memory-only" in said[0]
    assert resolve_kind("embedded") == "embedded" and resolve_kind("kafka") == "kafka"
    with pytest.raises(ConfigError, match="unknown local broker"):
        resolve_kind("zookeeper")


def test_three_nodes_replicate_everything_three_times_with_two_in_sync(tmp_path):
    k = LocalKafka(tmp_path, nodes=3)
    props = [k._properties(n) for n in k.nodes]
    assert len({p["controller.quorum.voters"] for p in props}) == 1 and len(props[0]["controller.quorum.voters"].split(",")) == 3
    for p in props:
        assert p["default.replication.factor"] == p["offsets.topic.replication.factor"] == "3"
        assert p["min.insync.replicas"] == p["transaction.state.log.min.isr"] == "2"
        assert p["auto.create.topics.enable"] == "false" and p["process.roles"] == "broker,controller"
    single = LocalKafka(tmp_path / "one", nodes=1)._properties(LocalKafka(tmp_path / "one", nodes=1).nodes[0])
    assert single["default.replication.factor"] == "1" and single["min.insync.replicas"] == "1"
    with pytest.raises(ConfigError, match="1 or 3"):
        LocalKafka(tmp_path / "two", nodes=2)


def test_a_cluster_directory_remembers_its_size(tmp_path):
    k = LocalKafka(tmp_path, nodes=1)
    k._save()
    again = LocalKafka(tmp_path, nodes=1)
    assert again.cluster_id == k.cluster_id and again.nodes[0].port == k.nodes[0].port
    assert not again.cluster_id.startswith("-")
    with pytest.raises(ConfigError, match="1-node Kafka, not 3"):
        LocalKafka(tmp_path, nodes=3)


def test_each_broker_says_what_its_clients_are_given(tmp_path):
    kafka = local_broker("kafka", tmp_path, nodes=1)
    assert kafka.data_dir == (tmp_path / "kafka").resolve() and kafka.settings == LOCAL_PROFILE
    assert kafka.env() == {"NEWSFLOW_SESSION_TIMEOUT_S": "6.0", "NEWSFLOW_REBALANCE_TIMEOUT_S": "4.0",
                           "NEWSFLOW_HEARTBEAT_INTERVAL_S": "1.0"}
    tansu = local_broker("embedded", tmp_path)
    assert isinstance(tansu, EmbeddedBroker) and tansu.settings == EMBEDDED
    assert tansu.env() == {"NEWSFLOW_EMBEDDED_BROKER": "True"}
    with pytest.raises(ConfigError, match="one node"):
        local_broker("embedded", tmp_path, nodes=3)
    # the settings: run's choice, and no replication factor until the cluster is known
    s = Settings()
    assert s.local_broker == "auto" and s.local_kafka_nodes == 1 and s.replication_factor is None
