"""A local Apache Kafka that newsflow starts itself: 1 or 3 combined broker+controller KRaft nodes.

The broker's classpath comes from Maven Central: ``deploy/kafka/pom.xml`` names ``kafka_2.13`` and the log4j
binding, and ``mvn dependency:copy-dependencies`` copies the jars a Kafka distribution's ``libs/`` holds into
a cache shared by every checkout (``$NEWSFLOW_KAFKA_CACHE``, else ``$XDG_CACHE_HOME/newsflow``, else
``~/.cache/newsflow``), once per version. The same version runs in ``docker-compose.yml``.

A cluster lives in one data directory (``cluster.json``: its id, the nodes and their ports; one folder per node
with its storage, ``server.properties`` and ``server.log``): started again on the same directory it keeps its
topics and offsets. Every JVM dies with the process that started it, however that process ends: a clean stop
(SIGTERM, then SIGKILL), and ``PR_SET_PDEATHSIG`` for a parent killed with ``kill -9`` (Linux).
Used by ``newsflow broker kafka``, ``newsflow run --local-broker kafka``, the tests
(``NEWSFLOW_TEST_BROKER=kafka``), the benchmark and the soak (``--broker kafka``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipeline.brokers.embedded import free_port
from pipeline.errors import ConfigError
from pipeline.worker.supervisor import die_with_parent as _die_with_parent

POM = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "pom.xml"

#: what a client of a local cluster is given (as settings or NEWSFLOW_* variables): one machine, so a dead
#: worker is noticed in seconds, not after Kafka's 45-60 s session timeout
LOCAL_PROFILE = {"session_timeout_s": 6.0, "rebalance_timeout_s": 4.0, "heartbeat_interval_s": 1.0}

#: how long ``start`` waits for every node to say it started (a first start on 2 busy cores takes ~10 s)
START_TIMEOUT_S = 90.0
#: how long a node is given to shut down after SIGTERM before it is killed
STOP_WAIT_S = 30.0
_STARTED = "Kafka Server started"


def kafka_version(pom: Path = POM) -> str:
    """The Kafka version ``deploy/kafka/pom.xml`` names (one place for it)."""
    if not pom.is_file():
        raise ConfigError(f"the local Kafka needs newsflow's source tree: {pom} is missing")
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if not found:
        raise ConfigError(f"{pom} names no <kafka.version>")
    return found.group(1).strip()


def cache_dir() -> Path:
    root = os.environ.get("NEWSFLOW_KAFKA_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "newsflow"
    return Path(root)


def java_problem() -> str | None:
    """Why the local Kafka cannot run here (no Java 17+, no Maven for a first fetch), or None."""
    java = shutil.which("java")
    if not java:
        return "Apache Kafka needs Java 17 or newer, and no `java` is on PATH"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`java -version` failed: {exc}"
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(found.group(1)) if found else 0
    if major == 1 and found and found.group(2):  # "1.8.0_..." is Java 8
        major = int(found.group(2))
    if major < 17:
        return f"Apache Kafka 4 needs Java 17 or newer; `java -version` says: {out.splitlines()[0] if out else '?'}"
    if not (cache_dir() / f"kafka-{kafka_version()}" / "libs" / ".complete").exists() and not shutil.which("mvn"):
        return "the Kafka jars are not fetched yet, and fetching them needs Maven (`mvn`), which is not on PATH"
    return None


def classpath(version: str | None = None, say=lambda msg: None) -> Path:
    """The folder of the broker's jars, fetched through Maven the first time (``say`` tells the user)."""
    version = version or kafka_version()
    libs = cache_dir() / f"kafka-{version}" / "libs"
    if (libs / ".complete").exists():
        return libs
    if not shutil.which("mvn"):
        raise ConfigError("fetching Apache Kafka's jars needs Maven (`mvn`), which is not on PATH")
    libs.parent.mkdir(parents=True, exist_ok=True)
    partial = libs.parent / f"libs.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    say(f"fetching Apache Kafka {version}'s jars through Maven into {libs} (once)")
    log = libs.parent / "maven.log"
    with open(log, "wb") as out:
        done = subprocess.run(
            ["mvn", "-B", "-q", "-f", str(POM), f"-Dkafka.version={version}", "dependency:copy-dependencies",
             "-DincludeScope=runtime", f"-DoutputDirectory={partial}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if done.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
        shutil.rmtree(partial, ignore_errors=True)
        raise ConfigError(f"Maven could not fetch Apache Kafka {version}'s jars; see {log}")
    (partial / ".complete").write_text(version + "\n")
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)  # atomic: a half-copied folder is never taken for the classpath
    return libs




@dataclass
class Node:
    id: int
    port: int
    controller_port: int
    dir: Path
    proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.dir / "server.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class LocalKafka:
    """Apache Kafka on loopback: ``nodes`` (1 or 3) combined broker+controller nodes in ``data_dir``.

    Use as a context manager, or ``start()``/``stop()``. ``kill``/``pause``/``resume``/``start_node``/``stop_node``
    act on one node (the fault tests). Topics get replication factor ``min(3, nodes)`` and, on 3 nodes,
    ``min.insync.replicas=2`` by default.
    """

    kind = "kafka"
    #: what a client of it is given, as settings (``env()``: as variables)
    settings = LOCAL_PROFILE

    def __init__(self, data_dir: Path, nodes: int = 1, heap_mb: int | None = None, say=lambda msg: None,
                 broker_config: dict[str, str] | None = None):
        if nodes not in (1, 3):
            raise ConfigError(f"a local Kafka has 1 or 3 nodes, not {nodes}")
        self.data_dir = Path(data_dir).resolve()
        self.heap_mb = heap_mb or (512 if nodes == 1 else 384)
        self.say = say
        self.broker_config = broker_config or {}
        self.version = kafka_version()
        self.nodes = self._layout(nodes)
        self._log_offsets: dict[int, int] = {}  # where each node's log was when it was last started

    # --- what clients are given ----------------------------------------------------------------------
    @property
    def address(self) -> str:
        return ",".join(n.address for n in self.nodes)

    def env(self) -> dict[str, str]:
        return {f"NEWSFLOW_{k.upper()}": str(v) for k, v in LOCAL_PROFILE.items()}

    # --- the cluster's files ----------------------------------------------------------------------
    def _layout(self, count: int) -> list[Node]:
        """The nodes and their ports: as ``cluster.json`` has them (a restart keeps its ports), or new ones."""
        state = self.data_dir / "cluster.json"
        if state.is_file():
            saved = json.loads(state.read_text())
            if len(saved["nodes"]) != count:
                raise ConfigError(f"{self.data_dir} holds a {len(saved['nodes'])}-node Kafka, not {count}; "
                                  "use another data directory")
            self.cluster_id = saved["cluster_id"]
            nodes = [Node(n["id"], n["port"], n["controller_port"], self.data_dir / f"node-{n['id']}")
                     for n in saved["nodes"]]
        else:
            self.cluster_id = _cluster_id()
            nodes = [Node(i, free_port(), free_port(), self.data_dir / f"node-{i}") for i in range(1, count + 1)]
        return nodes

    def _save(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "cluster.json").write_text(json.dumps({
            "cluster_id": self.cluster_id, "version": self.version,
            "nodes": [{"id": n.id, "port": n.port, "controller_port": n.controller_port} for n in self.nodes],
        }, indent=1))

    def _properties(self, node: Node) -> dict[str, str]:
        count = len(self.nodes)
        replicas = str(min(3, count))
        props = {
            "process.roles": "broker,controller",
            "node.id": str(node.id),
            "controller.quorum.voters": ",".join(f"{n.id}@127.0.0.1:{n.controller_port}" for n in self.nodes),
            "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(node.dir / "data"),
            "default.replication.factor": replicas,
            "min.insync.replicas": "2" if count >= 3 else "1",
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": "2" if count >= 3 else "1",
            # a topic exists because newsflow created it, never because a client asked for its metadata
            "auto.create.topics.enable": "false",
            # one machine: no reason to wait 3 s for more members before the first rebalance
            "group.initial.rebalance.delay.ms": "0",
            # a few MB of partitions per test run, not 1 GiB segments kept for a week
            "log.segment.bytes": str(64 * 1024 * 1024),
            "num.partitions": "1",
        }
        props.update(self.broker_config)
        return props

    def _write_config(self, node: Node) -> Path:
        node.dir.mkdir(parents=True, exist_ok=True)
        conf = node.dir / "server.properties"
        conf.write_text("".join(f"{k}={v}\n" for k, v in self._properties(node).items()))
        (node.dir / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {node.log_path}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = file\n"
            # the request log and the state-change log are for Kafka's developers
            "logger.request.name = kafka.request.logger\nlogger.request.level = WARN\n"
            "logger.state.name = state.change.logger\nlogger.state.level = WARN\n"
        )
        return conf

    def _java(self, libs: Path, node: Node, main: list[str], heap_mb: int) -> list[str]:
        return ["java", f"-Xmx{heap_mb}m", f"-Xms{min(heap_mb, 128)}m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={node.dir / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={node.dir}", "-cp", f"{libs}/*", *main]

    def _format(self, libs: Path, node: Node, conf: Path) -> None:
        if (node.dir / "data" / "meta.properties").exists():
            return  # formatted before: its topics and offsets are kept
        done = subprocess.run(
            self._java(libs, node, ["kafka.tools.StorageTool", "format", "-t", self.cluster_id, "-c", str(conf),
                                    "--ignore-formatted"], 256),
            capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise ConfigError(f"formatting Kafka node {node.id}'s storage failed: "
                              f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")

    # --- running it ---------------------------------------------------------------------------------
    def start(self) -> "LocalKafka":
        problem = java_problem()
        if problem:
            raise ConfigError(problem)
        libs = classpath(self.version, say=self.say)
        self._refuse_second_start()
        for node in self.nodes:  # ports taken since the last start are replaced (the data stays)
            if not _port_free(node.port):
                node.port = free_port()
            if not _port_free(node.controller_port):
                node.controller_port = free_port()
        self._save()
        try:
            for node in self.nodes:
                self._format(libs, node, self._write_config(node))
            for node in self.nodes:
                self._spawn(libs, node)
            self._wait_started(self.nodes)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, libs: Path, node: Node) -> None:
        node.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_offsets[node.id] = node.log_path.stat().st_size if node.log_path.exists() else 0
        with open(node.dir / "stdout.log", "ab") as out:
            node.proc = subprocess.Popen(
                self._java(libs, node, ["kafka.Kafka", str(node.dir / "server.properties")], self.heap_mb),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C is ours to act on: we stop the nodes cleanly
                preexec_fn=_die_with_parent)
        (node.dir / "pid").write_text(str(node.proc.pid))

    def _wait_started(self, nodes: list[Node], timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(nodes)
        while waiting:
            for node in list(waiting):
                if not node.alive():
                    raise ConfigError(f"Kafka node {node.id} exited during start-up (exit {node.proc.returncode}); "
                                      f"see {node.log_path}")
                with open(node.log_path, "rb") as log:
                    log.seek(self._log_offsets.get(node.id, 0))
                    if _STARTED.encode() in log.read():
                        waiting.remove(node)
            if waiting and time.monotonic() > deadline:
                raise ConfigError(f"Kafka node(s) {', '.join(str(n.id) for n in waiting)} did not start within "
                                  f"{timeout:.0f} s; see {waiting[0].log_path}")
            time.sleep(0.1)

    def _refuse_second_start(self) -> None:
        for node in self.nodes:
            pid_file = node.dir / "pid"
            if not pid_file.is_file():
                continue
            try:
                pid = int(pid_file.read_text())
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (ValueError, OSError):
                continue
            if b"kafka.Kafka" in cmdline and str(node.dir).encode() in cmdline:
                raise ConfigError(f"a local Kafka already runs on {self.data_dir} (node {node.id}, pid {pid}); "
                                  "stop it or use another data directory")

    def stop(self) -> None:
        """SIGTERM every node at once (a clean shutdown), SIGKILL what is left after ``STOP_WAIT_S``; all at once
        because one by one, a node shutting down would wait for controllers already stopped."""
        running = [n for n in self.nodes if n.alive()]
        for node in running:
            node.proc.terminate()
        deadline = time.monotonic() + STOP_WAIT_S
        for node in running:
            try:
                node.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
        for node in self.nodes:
            (node.dir / "pid").unlink(missing_ok=True)

    # --- one node (fault tests) ----------------------------------------------------------------------
    def node(self, node_id: int) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def kill(self, node_id: int) -> None:
        """kill -9 one node."""
        node = self.node(node_id)
        if node.alive():
            node.proc.kill()
            node.proc.wait()

    def stop_node(self, node_id: int) -> None:
        from pipeline.worker.supervisor import stop_process

        node = self.node(node_id)
        if node.proc is not None:
            stop_process(node.proc, wait_s=STOP_WAIT_S)

    def start_node(self, node_id: int) -> None:
        node = self.node(node_id)
        if not node.alive():
            self._spawn(classpath(self.version), node)
            self._wait_started([node])

    def pause(self, node_id: int) -> None:
        """SIGSTOP: the node is there but answers nothing (a network partition, seen from the others)."""
        self.node(node_id).proc.send_signal(signal.SIGSTOP)

    def resume(self, node_id: int) -> None:
        self.node(node_id).proc.send_signal(signal.SIGCONT)

    def __enter__(self) -> "LocalKafka":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _cluster_id() -> str:
    """A KRaft cluster id (a UUID in URL-safe base64) that does not start with "-", which the storage tool's
    argument parser would take for an option."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
