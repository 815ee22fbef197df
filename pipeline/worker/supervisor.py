"""``newsflow run``'s supervision: a broker, a worker process, the inputs in, the terminal topics watched.

Unless a broker is configured, a local one is started (Apache Kafka or the embedded Tansu, ``local_broker``)
and the worker child process is given its environment. The watch counts what comes out on the terminal topics
(news.enriched, news.duplicates, news.dlq) for the inputs fed; everything started is stopped on the way out,
by an error, Ctrl-C, or SIGTERM once ``sigterm_as_interrupt`` is installed (the CLI's entry point and the
soak benchmark install it).
What is printed is the caller's: every record and every step is handed to a callback.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from pipeline import topics
from pipeline.errors import ConfigError
from pipeline.settings import Settings

#: how long the worker is given to stop after SIGTERM before it is killed
WORKER_STOP_S = 15.0


def die_with_parent() -> None:
    """In a child, before exec (``preexec_fn``): SIGTERM when the parent dies, also by kill -9
    (``PR_SET_PDEATHSIG``). Linux only; elsewhere the clean stop still applies."""
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def sigterm_as_interrupt(signum, frame) -> None:
    """A SIGTERM handler: SIGTERM (kill, a supervisor, a CI timeout) takes the same clean path as Ctrl-C, so the
    local broker and the worker processes a command started are stopped, not left behind."""
    raise KeyboardInterrupt


@dataclass
class Tally:
    """What came out on the terminal topics for the inputs fed, and the broker they were fed to."""

    broker: str
    expected: int
    counts: dict[str, int] = field(default_factory=lambda: {t: 0 for t in topics.TERMINAL})

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def enriched(self) -> int:
        return self.counts[topics.ENRICHED]

    @property
    def duplicates(self) -> int:
        return self.counts[topics.DUPLICATES]

    @property
    def rejected(self) -> int:
        return self.counts[topics.DLQ]


def _nothing(*_args) -> None:
    pass


def supervise(
    settings: Settings,
    items: Sequence,
    *,
    settings_for: Callable[..., Settings],
    on_record: Callable[[str, bytes], None],
    config: Path | None = None,
    exit_when_done: bool = False,
    timeout: float = 300.0,
    on_broker: Callable[[str, str], None] = _nothing,
    on_notice: Callable[[str], None] = _nothing,
    on_worker: Callable[[int, Path, int], None] = _nothing,
    on_all_out: Callable[[Tally], None] = _nothing,
    on_stopping: Callable[[], None] = _nothing,
) -> Tally | None:
    """Run a broker (a local one, ``settings.local_broker``, unless ``settings.broker``), a ``newsflow worker``
    process, feed ``items``.

    ``items`` are what ``read_inputs`` yields (articles and input problems). ``settings_for(**overrides)``
    loads the settings again with the local broker's address and profile; ``config`` is the settings file
    the worker is given. Callbacks: ``on_broker(kind, address)`` once the local broker is up, ``on_notice(message)``
    for what choosing and starting it has to say (a first fetch of Kafka's jars, no Java), ``on_worker(pid,
    log_path, inputs)`` once the worker started, ``on_record(topic, value)`` for every terminal record,
    ``on_all_out(tally)`` once every input came out, ``on_stopping()`` on Ctrl-C or SIGTERM. With
    ``exit_when_done`` it returns once every input came out (ConfigError after ``timeout`` seconds);
    otherwise it watches until interrupted. A worker that exits on its own is a ConfigError. Returns the tally
    (None when interrupted before the watch ended). The worker's state and log are in a directory of this run's
    own under ``data_dir/runs/`` (two runs in one folder share nothing but a local Kafka's data).
    """
    from pipeline.kafka.admin import ensure_topics

    local = None
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    worker = None
    try:
        if not settings.broker:
            from pipeline.brokers import local_broker, resolve_kind

            kind = resolve_kind(settings.local_broker, say=on_notice)
            local = local_broker(kind, data_dir, nodes=settings.local_kafka_nodes, say=on_notice)
            local.start()
            settings = settings_for(broker=local.address, **local.settings)
            env.update(local.env())
            on_broker(kind, local.address)
        env["NEWSFLOW_BROKER"] = settings.broker
        asyncio.run(ensure_topics(settings))
        run_dir = run_directory(data_dir)
        env["NEWSFLOW_DATA_DIR"] = str(run_dir)
        log_path = run_dir / "worker.log"
        worker = start_worker(config, env, log_path)
        on_worker(worker.pid, log_path, len(items))
        return asyncio.run(watch(settings, items, worker, exit_when_done=exit_when_done, timeout=timeout,
                                 on_record=on_record, on_all_out=on_all_out, log_path=log_path))
    except KeyboardInterrupt:
        on_stopping()
        return None
    finally:
        if worker is not None:
            stop_process(worker)
        if local:
            local.stop()


def run_directory(data_dir: Path) -> Path:
    """A new directory for one run's state: ``data_dir/runs/run-<UTC time>-<pid>``."""
    path = Path(data_dir) / "runs" / f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_worker(config: Path | None, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """``newsflow worker`` as a child process in its own session (a terminal's Ctrl-C is ours to pass on),
    its output appended to ``log_path``; it is sent SIGTERM if this process dies, however it dies."""
    cmd = [sys.executable, "-m", "pipeline"] + (["--config", str(config)] if config else []) + ["worker"]
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=die_with_parent)


def stop_process(proc: subprocess.Popen, wait_s: float = WORKER_STOP_S) -> None:
    """SIGTERM (a clean shutdown), then SIGKILL if it is still there after ``wait_s``; returns once it is gone.
    Stops the worker here, the embedded broker and the tests' workers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def watch(settings: Settings, items: Sequence, worker: subprocess.Popen, *, exit_when_done: bool,
                timeout: float, on_record: Callable[[str, bytes], None],
                on_all_out: Callable[[Tally], None] = _nothing, log_path: Path | None = None) -> Tally:
    """Read the terminal topics from their current ends, publish ``items``, count what comes out."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from pipeline.connectors.sources.publish import publish_inputs
    from pipeline.kafka.admin import partition_ids
    from pipeline.kafka.clients import max_message_bytes, start_with_retry

    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs(), enable_auto_commit=False,
                                max_partition_fetch_bytes=max_message_bytes(settings))
    await start_with_retry(consumer.start, settings)
    try:
        tps = [TopicPartition(t, p) for t in topics.TERMINAL for p in await partition_ids(settings, t)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, ends[tp])
        await publish_inputs(settings, items)
        tally = Tally(settings.broker, len(items))
        started = time.monotonic()
        announced = False
        while True:
            if worker.poll() is not None:
                raise ConfigError(f"the worker stopped (exit {worker.returncode}); "
                                  f"see {log_path or settings.data_dir / 'worker.log'}")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, msgs in batch.items():
                for m in msgs:
                    tally.counts[tp.topic] += 1
                    on_record(tp.topic, m.value)
            if tally.done >= tally.expected and not announced:
                announced = True
                on_all_out(tally)
                if exit_when_done:
                    return tally
            if exit_when_done and time.monotonic() - started > timeout:
                raise ConfigError(f"only {tally.done} of {tally.expected} inputs came out within {timeout:.0f} s")
    finally:
        await consumer.stop()
