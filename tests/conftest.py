"""Shared fixtures. Integration fixtures start a real broker and real worker processes.

``NEWSFLOW_TEST_BROKER`` picks the broker of the ``broker`` fixture: ``kafka`` (a local Apache Kafka started
once per session, pipeline/brokers/kafka.py; every test starts on a cluster with no topics) or ``tansu`` (a
fresh embedded broker per test). Unset: ``kafka`` where Java 17+ is installed, else ``tansu``. Tests about
the embedded broker itself (marked ``tansu``) get Tansu whatever is chosen.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable

import pytest

from pipeline import topics
from pipeline.brokers.embedded import EmbeddedBroker
from pipeline.kafka.admin import delete_topics
from pipeline.settings import Settings
from pipeline.worker.supervisor import stop_process

DATA = Path(__file__).parent / "data"
SEED = DATA / "seed-article.txt"


def _test_broker_kind() -> str:
    kind = os.environ.get("NEWSFLOW_TEST_BROKER", "").strip().lower()
    if kind in ("kafka", "tansu"):
        return kind
    if kind:
        raise pytest.UsageError(f"NEWSFLOW_TEST_BROKER={kind!r}: use kafka or tansu")
    from pipeline.brokers.kafka import java_problem

    return "tansu" if java_problem() else "kafka"


TEST_BROKER = _test_broker_kind()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a skipped fault test fails: CI installs everything they need, so a skip hides a broken set-up."""
    outcome = yield
    rep = outcome.get_result()
    if os.environ.get("CI") and rep.skipped and item.get_closest_marker("chaos") and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = f"fault test skipped under CI: {rep.longrepr}"


@pytest.fixture(scope="session")
def seed_bytes() -> bytes:
    return SEED.read_bytes()


def pytest_report_header(config):
    return f"newsflow test broker: {TEST_BROKER} (NEWSFLOW_TEST_BROKER)"


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory):
    """One local Apache Kafka (1 node) for the whole session."""
    from pipeline.brokers.kafka import LocalKafka

    with LocalKafka(tmp_path_factory.mktemp("kafka"), nodes=1) as k:
        yield k


@pytest.fixture
def tansu_broker(tmp_path) -> Iterable[EmbeddedBroker]:
    """A fresh embedded broker (Tansu starts in milliseconds): for the tests of that broker itself."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as b:
        yield b


@pytest.fixture
def broker(request, tmp_path):
    """The test broker (``NEWSFLOW_TEST_BROKER``), with no topics: no test sees another's records.

    It has ``kind``, ``address``, ``settings`` (what a client is given) and ``env()`` (the same as variables)."""
    if TEST_BROKER == "kafka" and not request.node.get_closest_marker("tansu"):
        cluster = request.getfixturevalue("kafka_cluster")
        asyncio.run(delete_topics(Settings(broker=cluster.address)))
        yield cluster
    else:
        yield request.getfixturevalue("tansu_broker")


class WorkerProcess:
    """A real ``newsflow worker`` process; kill it, restart it, read its log."""

    def __init__(self, broker, workdir: Path, app_id: str, partitions: int = 2, extra_env: dict | None = None,
                 stages: str | None = None, name: str | None = None):
        """``broker``: the ``broker`` fixture's broker (its address and its profile's variables are given)."""
        self.broker_env = broker.env()
        self.broker, self.workdir, self.app_id = broker.address, workdir, app_id
        self.name = name or app_id  # one log file per process, even when two share an app id
        self.partitions = partitions
        self.extra_env = extra_env or {}
        self.stages = stages
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"worker-{self.name}.log"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "NEWSFLOW_BROKER": self.broker,
            "NEWSFLOW_APP_ID": self.app_id,
            "NEWSFLOW_PARTITIONS": str(self.partitions),
            "NEWSFLOW_DATA_DIR": str(self.workdir / f"data-{self.name}"),
            "NEWSFLOW_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.broker_env)
        env.update(self.extra_env)
        return env

    def start(self) -> "WorkerProcess":
        cmd = [sys.executable, "-m", "pipeline", "worker"] + (["--stages", self.stages] if self.stages else [])
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, kill: bool = False) -> None:
        if not self.alive():
            return
        if kill:
            self.proc.kill()
            self.proc.wait()
        else:
            stop_process(self.proc, wait_s=20)


@pytest.fixture
def make_worker(broker, tmp_path):
    made: list[WorkerProcess] = []

    def make(app_id: str, **kw) -> WorkerProcess:
        same = sum(w.app_id == app_id for w in made)
        kw.setdefault("name", app_id if same == 0 else f"{app_id}-{same + 1}")
        w = WorkerProcess(broker, tmp_path, app_id, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop()


def settings_for(broker, app_id: str = "newsflow", **kw) -> Settings:
    """Settings for a client of the ``broker`` fixture's broker, with its profile."""
    return Settings(broker=broker.address, app_id=app_id, partitions=kw.pop("partitions", 2),
                    **{**broker.settings, **kw})


async def collect(settings: Settings, wanted: int, timeout: float = 120.0,
                  topic_names: tuple[str, ...] = topics.TERMINAL) -> dict[str, list[bytes]]:
    """Read the terminal topics from the beginning until ``wanted`` records arrived (or time runs out)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(*topic_names, bootstrap_servers=settings.bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
                                max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    got: dict[str, list[bytes]] = {t: [] for t in topic_names}
    deadline = time.monotonic() + timeout
    try:
        while sum(len(v) for v in got.values()) < wanted and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, msgs in batch.items():
                got[tp.topic].extend(m.value for m in msgs)
    finally:
        await consumer.stop()
    return got
