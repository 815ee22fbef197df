"""The worker's Prometheus metrics (issue 21), served at ``/metrics`` by ``pipeline.worker.http``.

One ``WorkerMetrics`` per Faust app, on its own ``CollectorRegistry`` (no process-wide state: a test can make
several). What is counted, and where:

- the agents (``pipeline.worker.agents``) call ``records_in`` when a stage reads records and ``step`` for each
  ``Step`` it writes: records out per stage and output topic, failures, dead letters by stage and reason,
  duplicates by kind, the stage's latency (the article's own ``timings`` stamp, in seconds), corrections per
  article (normalize) and entities per article (tag); ``batch`` for the tag stage's batch sizes;
- a Faust sensor (``MetricsSensor``) counts rebalances, times commits and marks the assignment, which
  ``Readiness`` reads;
- at scrape time (``LiveCollector``) the consumer's lag per topic and partition (the partition's high-water
  mark minus the next offset this worker will read) and the tag child processes alive.

Every metric is named ``newsflow_*``; deploy/grafana/newsflow.json queries only these (tests/unit/test_ops_metrics.py
checks that every name it uses is exported).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from faust.sensors.base import Sensor
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily

from pipeline import topics

log = logging.getLogger("newsflow.worker")
disable_created_metrics()  # no *_created series: Prometheus does not need them, the dashboards do not read them

#: stage latency buckets, seconds: 0.1 ms .. 10 s (parse of a page is ~1 ms, a tag batch item ~5-50 ms)
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
COUNT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_DIGITS = re.compile(r"\d+")


def reason_label(reason: str) -> str:
    """A dead letter's reason as a label of bounded cardinality: its first clause, numbers as N, 60 chars.

    ``body has 2 words (fewer than 5)`` -> ``body has N words``; ``invalid JSON: unexpected character: line 1``
    -> ``invalid JSON``. The whole reason stays in the dead letter itself (``newsflow dlq show``)."""
    head = re.split(r"[:(\[{;]", reason or "", maxsplit=1)[0]
    head = _DIGITS.sub("N", head).strip().rstrip(".,")
    return (head[:60] or "unknown")


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records_in = Counter("newsflow_records_in", "Records a stage read from its input topic.",
                                  ["stage"], registry=r)
        self.records_out = Counter("newsflow_records_out", "Records a stage wrote, by output topic.",
                                   ["stage", "topic"], registry=r)
        self.records_failed = Counter("newsflow_records_failed", "Records a stage could not process (sent to news.dlq).",
                                      ["stage"], registry=r)
        self.dead_letters = Counter("newsflow_dead_letters", "Dead letters written, by stage and reason.",
                                    ["stage", "reason"], registry=r)
        self.duplicates = Counter("newsflow_duplicates", "Duplicates found by the dedup stage, by kind.",
                                  ["kind"], registry=r)
        self.latency = Histogram("newsflow_stage_latency_seconds", "Time a stage spent on one article.",
                                 ["stage"], buckets=LATENCY_BUCKETS, registry=r)
        self.corrections = Histogram("newsflow_corrections_per_article", "Corrections the normalize stage made "
                                     "per article.", buckets=COUNT_BUCKETS, registry=r)
        self.entities = Histogram("newsflow_entities_per_article", "Entities the tag stage found per article.",
                                  buckets=COUNT_BUCKETS, registry=r)
        self.batch_size = Histogram("newsflow_batch_size", "Articles per batch a batching stage ran (tag: one NER "
                                    "pass).", ["stage"], buckets=BATCH_BUCKETS, registry=r)
        self.rebalances = Counter("newsflow_rebalances", "Consumer group rebalances this worker went through.",
                                  registry=r)
        self.commit_latency = Histogram("newsflow_commit_latency_seconds", "Time an offset commit took.",
                                        buckets=COMMIT_BUCKETS, registry=r)
        self.ready = Gauge("newsflow_ready", "1 when the worker is ready (group joined, partitions assigned, "
                           "models loaded).", registry=r)
        self.info = Gauge("newsflow_worker_info", "The worker's group and stages (value 1).",
                          ["group", "stages"], registry=r)
        self._children: dict = {}
        self.live = LiveCollector()
        r.register(self.live)

    # ---- what the agents report ------------------------------------------------------------------

    def _child(self, metric, *labels: str):
        """``metric.labels(*labels)``, looked up once (the lookup costs more than the increment)."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def read(self, stage: str, n: int = 1) -> None:
        self._child(self.records_in, stage).inc(n)

    def step(self, stage: str, topic: str, record: Any = None, reason: str | None = None) -> None:
        """One Step written by ``stage`` to ``topic`` (a dead letter has ``reason``)."""
        if topic == topics.DLQ:
            self._child(self.records_failed, stage).inc()
            self._child(self.dead_letters, stage, reason_label(reason or "")).inc()
            return
        self._child(self.records_out, stage, topic).inc()
        if record is None:
            return
        ms = getattr(record, "timings", {}).get(stage)
        if ms is not None:
            self._child(self.latency, stage).observe(ms / 1000.0)
        if topic == topics.DUPLICATES:
            self._child(self.duplicates, getattr(record, "duplicate_kind", "exact")).inc()
        elif stage == "normalize":
            self.corrections.observe(len(getattr(record, "corrections", ())))
        elif stage == "tag":
            self.entities.observe(len(getattr(record, "entities", ())))

    def batch(self, stage: str, n: int) -> None:
        self._child(self.batch_size, stage).observe(n)

    def text(self) -> bytes:
        return generate_latest(self.registry)


@dataclass(eq=False)  # hashable by identity: the registry keeps collectors in a dict
class LiveCollector:
    """Gauges read when Prometheus scrapes: consumer lag per partition, tag child processes alive."""

    consumer: Callable[[], Any] | None = None  #: returns the Faust consumer (None before it exists)
    tag_executor: Any = None
    tag_expected: int = 0
    stage_of_topic: dict[str, str] = field(default_factory=lambda: {t[0]: s for s, t in topics.STAGE_TOPICS.items()})

    def describe(self) -> Iterable:
        return []  # dynamic: nothing to describe before the first scrape

    def lag(self) -> list[tuple[str, str, int, int]]:
        """(stage, topic, partition, lag) for each partition assigned to this worker."""
        consumer = self.consumer() if self.consumer else None
        if consumer is None:
            return []
        out = []
        try:
            assigned = consumer.assignment()
        except Exception:  # noqa: BLE001 - not started yet
            return []
        for tp in sorted(assigned, key=lambda t: (t.topic, t.partition)):
            stage = self.stage_of_topic.get(tp.topic)
            if stage is None:
                continue  # a changelog topic
            try:
                high = consumer.highwater(tp)
            except Exception:  # noqa: BLE001
                continue
            if high is None:
                continue
            read = consumer._read_offset.get(tp)  # Faust's own record of the last offset read
            nxt = read + 1 if read is not None else (consumer._committed_offset.get(tp) or 0)
            out.append((stage, tp.topic, tp.partition, max(int(high) - int(nxt), 0)))
        return out

    def collect(self) -> Iterable:
        lag = GaugeMetricFamily("newsflow_consumer_lag", "Records on a stage's input partition this worker has not "
                                "read yet (high-water mark minus next offset).", labels=["stage", "topic", "partition"])
        for stage, topic, partition, n in self.lag():
            lag.add_metric([stage, topic, str(partition)], n)
        yield lag
        if self.tag_executor is not None:
            procs = getattr(self.tag_executor, "_processes", None) or {}
            alive = sum(1 for p in list(procs.values()) if p.is_alive())
            g = GaugeMetricFamily("newsflow_tag_processes_alive", "NER child processes alive (tag_processes "
                                  "expected).", labels=["expected"])
            g.add_metric([str(self.tag_expected)], alive)
            yield g


class Readiness:
    """What ``/ready`` answers: the group joined, partitions assigned, the models loaded."""

    def __init__(self, needs_models: bool):
        self.joined = False
        self.partitions: set = set()
        self.models_loaded = not needs_models
        self.rebalancing = False
        self.announced = False

    def problems(self) -> list[str]:
        out = []
        if not self.joined:
            out.append("not yet a member of its consumer group")
        elif self.rebalancing:
            out.append("rebalance in progress")
        elif not self.partitions:
            out.append("no partitions assigned")
        if not self.models_loaded:
            out.append("models still loading")
        return out

    @property
    def ready(self) -> bool:
        return not self.problems()


class MetricsSensor(Sensor):
    """Faust's sensor hooks: rebalances, commit latency and the assignment for ``Readiness``."""

    def __init__(self, metrics: WorkerMetrics, readiness: Readiness, on_change: Callable[[], None], **kw: Any):
        super().__init__(**kw)
        self.metrics, self.readiness, self.on_change = metrics, readiness, on_change

    def on_commit_initiated(self, consumer) -> Any:
        return time.perf_counter()

    def on_commit_completed(self, consumer, state: Any) -> None:
        if isinstance(state, float):
            self.metrics.commit_latency.observe(time.perf_counter() - state)

    def on_rebalance_start(self, app) -> dict:
        self.metrics.rebalances.inc()
        self.readiness.rebalancing = True
        self.on_change()
        return {}

    def on_rebalance_end(self, app, state: dict) -> None:
        self.readiness.rebalancing = False
        self.readiness.joined = True
        try:
            self.readiness.partitions = {tp for tp in app.consumer.assignment()
                                         if tp.topic in self.metrics.live.stage_of_topic}
        except Exception:  # noqa: BLE001
            self.readiness.partitions = set()
        self.on_change()


__all__ = ["LiveCollector", "MetricsSensor", "Readiness", "WorkerMetrics", "reason_label"]
