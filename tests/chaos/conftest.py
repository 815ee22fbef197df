"""Fault tests run only when asked for (``-m chaos``, ``make chaos``): they take minutes, not seconds.

On Apache Kafka they run on a local 3-node KRaft cluster (issue 17): topics with replication factor 3 and
``min.insync.replicas=2``, producers with ``acks=all``, so a broker can die under them. One cluster serves the
whole session; every test starts with no topics. Tests marked ``tansu`` get the embedded broker.
"""

from __future__ import annotations

import asyncio

import pytest

from pipeline.kafka.admin import delete_topics
from pipeline.settings import Settings
from tests.chaos.ground_truth import GroundTruthTable
from tests.conftest import TEST_BROKER
from tests.services import postgres_or_skip


def pytest_collection_modifyitems(config, items):
    if "chaos" in (config.getoption("-m") or ""):
        return
    keep = [i for i in items if i.get_closest_marker("chaos") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i.get_closest_marker("chaos") is not None])
        items[:] = keep


@pytest.fixture
def pg_table(request):
    conn = postgres_or_skip()
    table = GroundTruthTable(conn, f"chaos_{request.node.name[:40].lower()}")
    yield table
    conn.close()


@pytest.fixture(scope="session")
def kafka_cluster3(tmp_path_factory):
    """A local Apache Kafka of 3 nodes (combined broker and controller) for the fault tests."""
    from pipeline.brokers.kafka import LocalKafka

    with LocalKafka(tmp_path_factory.mktemp("kafka3"), nodes=3) as k:
        yield k


@pytest.fixture
def broker(request, tmp_path):
    """The fault tests' broker: the 3-node cluster on Kafka (with no topics), else a fresh Tansu."""
    if TEST_BROKER == "kafka" and not request.node.get_closest_marker("tansu"):
        cluster = request.getfixturevalue("kafka_cluster3")
        for node in cluster.nodes:  # a test that failed half-way may have left one down or paused
            if node.alive():
                cluster.resume(node.id)
            else:
                cluster.start_node(node.id)
        asyncio.run(delete_topics(Settings(broker=cluster.address)))
        yield cluster
    else:
        yield request.getfixturevalue("tansu_broker")
