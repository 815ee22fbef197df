"""Brokers newsflow starts itself: the memory-only embedded one (Tansu) and a local Apache Kafka.

Both have ``kind``, ``address`` (bootstrap servers), ``settings`` (what a client pointed at it is given),
``env()`` (the same as ``NEWSFLOW_*`` variables), ``start()``/``stop()`` and the context-manager protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pipeline.errors import ConfigError

KINDS = ("auto", "kafka", "embedded")


def resolve_kind(kind: str, say: Callable[[str], None] = lambda msg: None) -> str:
    """``auto``: Apache Kafka where Java 17+ is installed (and the jars are cached or Maven can fetch them),
    else the embedded broker, saying why."""
    if kind not in KINDS:
        raise ConfigError(f"unknown local broker {kind!r}; choose one of {', '.join(KINDS)}")
    if kind != "auto":
        return kind
    from pipeline.brokers.kafka import java_problem

    problem = java_problem()
    if problem:
        say(f"{problem}: using the embedded broker instead (memory-only)")
        return "embedded"
    return "kafka"


def local_broker(kind: str, data_dir: Path, nodes: int = 1, say: Callable[[str], None] = lambda msg: None,
                 kafka_dir: Path | None = None):
    """A broker of ``kind`` (``kafka`` or ``embedded``), not started. The local Kafka keeps its data in
    ``kafka_dir`` (default ``data_dir/kafka``); the embedded broker only logs in ``data_dir``."""
    if kind == "kafka":
        from pipeline.brokers.kafka import LocalKafka

        return LocalKafka(kafka_dir or Path(data_dir) / "kafka", nodes=nodes, say=say)
    if kind == "embedded":
        from pipeline.brokers.embedded import EmbeddedBroker

        if nodes != 1:
            raise ConfigError("the embedded broker has one node; --nodes 3 needs --local-broker kafka")
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        return EmbeddedBroker(log_path=Path(data_dir) / "broker.log")
    raise ConfigError(f"unknown local broker {kind!r}; choose kafka or embedded")
