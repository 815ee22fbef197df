"""Apache Kafka itself (issue 16): the local cluster's life cycle, exactly-once mode, a foreign client (kcat).

The cluster tests start clusters of their own (in their tmp folder); the pipeline tests use the session's
Kafka, so they need ``NEWSFLOW_TEST_BROKER=kafka`` (the default where Java is installed).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from pipeline import topics
from pipeline.brokers.kafka import LocalKafka, kafka_version
from pipeline.kafka.admin import ensure_topics, partition_ids
from pipeline.kafka.clients import publish_raw
from schemas import EnrichedArticle, RawArticle
from tests.chaos.harness import articles
from tests.conftest import TEST_BROKER, settings_for
from tests.services import skip_or_fail

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def kafka_only() -> None:
    if TEST_BROKER != "kafka":
        skip_or_fail("needs the test broker to be Apache Kafka (NEWSFLOW_TEST_BROKER=kafka)")


def gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return True  # a zombie has exited; only its parent's wait is missing
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.2)
    return False


async def roundtrip(address: str, topic: str, values: list[bytes]) -> list[bytes]:
    """Write ``values`` (acks=all, idempotent) and read the topic back from the start."""
    p = AIOKafkaProducer(bootstrap_servers=address, acks="all", enable_idempotence=True)
    await p.start()
    try:
        for v in values:
            await p.send_and_wait(topic, v)
    finally:
        await p.stop()
    return await read_all(address, topic)


async def read_all(address: str, topic: str, isolation_level: str = "read_uncommitted") -> list[bytes]:
    c = AIOKafkaConsumer(topic, bootstrap_servers=address, auto_offset_reset="earliest", group_id=None,
                         enable_auto_commit=False, isolation_level=isolation_level)
    await c.start()
    try:
        got: list[bytes] = []
        empty = 0
        while empty < 3:
            batch = await c.getmany(timeout_ms=1000)
            empty = 0 if batch else empty + 1
            got += [m.value for msgs in batch.values() for m in msgs]
        return got
    finally:
        await c.stop()


async def make_topic(address: str, name: str, replicas: int = 1) -> None:
    from aiokafka.admin import NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=address)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, replicas)])
        for _ in range(100):
            described = await admin.describe_topics([name])
            if described and all(p["leader"] >= 0 for p in described[0]["partitions"]):
                return
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


def test_the_local_cluster_keeps_its_data_across_restarts_and_its_version_is_composes(tmp_path):
    with LocalKafka(tmp_path / "k", nodes=1) as k:
        asyncio.run(make_topic(k.address, "kept"))
        assert asyncio.run(roundtrip(k.address, "kept", [b"one", b"two"])) == [b"one", b"two"]
        first, jvm = k.address, k.nodes[0].proc.pid
    assert gone(jvm, 1)
    with LocalKafka(tmp_path / "k", nodes=1) as k:  # the same data directory: the same cluster
        assert k.address == first  # ports are kept while they are free
        assert asyncio.run(read_all(k.address, "kept")) == [b"one", b"two"]
        assert (tmp_path / "k" / "node-1" / "server.log").stat().st_size > 0
    compose = (ROOT / "docker-compose.yml").read_text()
    assert f"apache/kafka:{kafka_version()}" in compose


def test_three_nodes_replicate_and_survive_one_node_killed(tmp_path):
    with LocalKafka(tmp_path / "k3", nodes=3) as k:
        asyncio.run(make_topic(k.address, "replicated", replicas=3))

        async def describe():
            admin = AIOKafkaAdminClient(bootstrap_servers=k.address)
            await admin.start()
            try:
                return (await admin.describe_topics(["replicated"]))[0]["partitions"][0]
            finally:
                await admin.close()

        part = asyncio.run(describe())
        assert sorted(part["replicas"]) == [1, 2, 3]
        leader = part["leader"]
        k.kill(leader)  # kill -9 the partition's leader: acks=all still succeeds on the 2 in-sync replicas left
        got = asyncio.run(roundtrip(",".join(n.address for n in k.nodes if n.id != leader), "replicated",
                                    [b"after the leader died"]))
        assert got == [b"after the leader died"]
        k.start_node(leader)
        assert k.node(leader).alive()


def _broker_command(data_dir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "broker", "kafka", "--data-dir", str(data_dir), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    address = proc.stdout.readline().strip()  # the command prints the bootstrap address alone on stdout
    assert address.startswith("127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else address
    return proc, address


def test_broker_command_prints_its_address_and_leaves_no_jvm_however_it_ends(tmp_path):
    data = tmp_path / "cluster"
    proc, address = _broker_command(data)
    asyncio.run(make_topic(address, "news.test"))
    jvm = int((data / "node-1" / "pid").read_text())
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert proc.wait(60) == 0 and gone(jvm, 5), "the JVM outlived Ctrl-C"

    proc, address = _broker_command(data)
    jvm = int((data / "node-1" / "pid").read_text())
    assert asyncio.run(read_all(address, "news.test")) == []  # the topic is still there (reading it works)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0 and gone(jvm, 5), "the JVM outlived SIGTERM"

    proc, address = _broker_command(data)
    jvm = int((data / "node-1" / "pid").read_text())
    proc.kill()  # kill -9: nobody stops the JVM but its parent-death signal
    proc.wait()
    assert gone(jvm, 45), "the JVM outlived its parent's kill -9"


def test_a_second_cluster_on_the_same_data_directory_is_refused(tmp_path):
    from pipeline.errors import ConfigError

    with LocalKafka(tmp_path / "k", nodes=1):
        with pytest.raises(ConfigError, match="already runs"):
            LocalKafka(tmp_path / "k", nodes=1).start()


async def test_exactly_once_delivers_every_article_once_to_a_read_committed_consumer(broker, make_worker):
    kafka_only()
    settings = settings_for(broker, processing_guarantee="exactly_once")
    await ensure_topics(settings)
    worker = make_worker("newsflow-eos", extra_env={"NEWSFLOW_PROCESSING_GUARANTEE": "exactly_once"}).start()
    raws = articles("eos", 20)  # 20 different articles (random words): none is a duplicate of another
    await publish_raw(settings, raws)
    deadline = time.monotonic() + 180
    enriched: list[bytes] = []
    while time.monotonic() < deadline and len(enriched) < len(raws):
        enriched = await read_all(broker.address, topics.ENRICHED, isolation_level="read_committed")
    assert worker.alive(), worker.log()[-3000:]
    origins = [EnrichedArticle.model_validate(orjson.loads(v)).origin for v in enriched]
    if sorted(origins) != sorted(r.origin for r in raws):
        seen = {t: len(await read_all(broker.address, t)) for t in topics.ALL_TOPICS}
        pytest.fail(f"{len(origins)} of {len(raws)} came out committed; records per topic, committed or not: {seen}\n"
                    + worker.log()[-3000:])
    # Faust wrote them inside transactions: each commit adds a marker that takes an offset of its own, so the
    # partitions end past their records (a plain producer's would end at exactly len(enriched))
    c = AIOKafkaConsumer(bootstrap_servers=broker.address)
    await c.start()
    try:
        from aiokafka import TopicPartition

        tps = [TopicPartition(topics.ENRICHED, p) for p in await partition_ids(settings, topics.ENRICHED)]
        ends = await c.end_offsets(tps)
    finally:
        await c.stop()
    assert tps and sum(ends.values()) > len(enriched)


def test_kcat_produces_a_raw_article_and_reads_it_back_enriched(broker, make_worker, seed_bytes):
    kafka_only()
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        skip_or_fail("kcat is not installed (apt-get install kcat; .ci/run installs it: deploy/ci/tools.sh)")
    settings = settings_for(broker)
    asyncio.run(ensure_topics(settings))
    worker = make_worker("newsflow").start()
    raw = RawArticle.from_bytes(seed_bytes, "kcat/seed.txt").model_dump_json().encode()
    subprocess.run([kcat, "-b", broker.address, "-P", "-t", topics.RAW, "-k", "kcat-1"], input=raw, check=True,
                   timeout=60)
    done = subprocess.run([kcat, "-b", broker.address, "-C", "-t", topics.ENRICHED, "-o", "beginning", "-c", "1",
                           "-e", "-q"], capture_output=True, timeout=240)
    deadline = time.monotonic() + 180
    while not done.stdout.strip() and time.monotonic() < deadline:  # -e: it stops at the end, maybe before it came
        time.sleep(2)
        done = subprocess.run([kcat, "-b", broker.address, "-C", "-t", topics.ENRICHED, "-o", "beginning", "-c",
                               "1", "-e", "-q"], capture_output=True, timeout=240)
    assert done.returncode == 0, done.stderr
    article = EnrichedArticle.model_validate(orjson.loads(done.stdout.strip().splitlines()[0]))
    assert article.origin == "kcat/seed.txt" and "Vladimir Putin" in {e.canonical for e in article.entities}, \
        worker.log()[-3000:]


def test_run_starts_a_local_kafka_processes_the_samples_and_stops_it(tmp_path):
    kafka_only()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    done = subprocess.run([sys.executable, "-m", "pipeline", "run", "--local-broker", "kafka", "--exit-when-done",
                           "--timeout", "240"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "local Apache Kafka on 127.0.0.1:" in done.stderr
    assert "5 input(s): 4 enriched, 1 duplicate(s), 0 rejected" in done.stderr, done.stderr[-3000:]
    cluster = tmp_path / ".newsflow" / "kafka"
    assert (cluster / "cluster.json").is_file() and (cluster / "node-1" / "data" / "meta.properties").is_file()
    assert not (cluster / "node-1" / "pid").exists()  # stopped: the pid file goes with the JVM
