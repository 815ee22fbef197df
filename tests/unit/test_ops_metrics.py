"""Issue 21: readiness states, the metrics the agents report, reason labels, JSON log lines, deploy/ wiring."""

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import orjson
import yaml
from faust.types import TP

from pipeline import topics
from pipeline.worker.logs import JsonFormatter
from pipeline.worker.metrics import MetricsSensor, Readiness, WorkerMetrics, reason_label

ROOT = Path(__file__).resolve().parents[2]


def test_readiness_each_state():
    r = Readiness(needs_models=True)
    assert not r.ready and r.problems() == ["not yet a member of its consumer group", "models still loading"]
    r.joined = True
    assert r.problems() == ["no partitions assigned", "models still loading"]
    r.partitions = {("news.raw", 0)}
    assert r.problems() == ["models still loading"]
    r.models_loaded = True
    assert r.ready and r.problems() == []
    r.rebalancing = True
    assert r.problems() == ["rebalance in progress"]
    assert Readiness(needs_models=False).problems() == ["not yet a member of its consumer group"]


class FakeConsumer:
    def __init__(self, tps):
        self.tps = tps
        self._read_offset = {tps[0]: 9}
        self._committed_offset = {tps[1]: 3}

    def assignment(self):
        return set(self.tps)

    def highwater(self, tp):
        return 15


def test_sensor_marks_assignment_rebalances_and_commits():
    m, r = WorkerMetrics(), Readiness(needs_models=False)
    changes = []
    s = MetricsSensor(m, r, lambda: changes.append(r.ready))
    raw0, parsed1, changelog = TP(topics.RAW, 0), TP(topics.PARSED, 1), TP("newsflow-dedup-index-changelog", 0)
    app = SimpleNamespace(consumer=FakeConsumer([raw0, parsed1, changelog]))
    s.on_rebalance_start(app)
    assert changes == [False] and r.rebalancing
    s.on_rebalance_end(app, {})
    assert changes == [False, True] and r.partitions == {raw0, parsed1}
    s.on_commit_completed(None, s.on_commit_initiated(None))
    m.live.consumer = lambda: app.consumer
    text = m.text().decode()
    assert "newsflow_rebalances_total 1.0" in text and "newsflow_commit_latency_seconds_count 1.0" in text
    # lag: high-water 15 minus the next offset (read 9 -> 10; committed 3), changelogs left out
    assert 'newsflow_consumer_lag{partition="0",stage="parse",topic="news.raw"} 5.0' in text
    assert 'newsflow_consumer_lag{partition="1",stage="dedup",topic="news.parsed"} 12.0' in text
    assert "changelog" not in text


def test_steps_counted_by_stage_topic_kind_and_reason():
    m = WorkerMetrics()
    m.read("dedup", 3)
    art = SimpleNamespace(timings={"dedup": 2.0}, duplicate_kind="near")
    m.step("dedup", topics.DUPLICATES, art)
    m.step("dedup", topics.UNIQUE, SimpleNamespace(timings={"dedup": 1.0}))
    m.step("dedup", topics.DLQ, reason="body has 2 words (fewer than 5)")
    m.step("normalize", topics.NORMALIZED, SimpleNamespace(timings={}, corrections=[1, 2, 3]))
    text = m.text().decode()
    assert 'newsflow_records_in_total{stage="dedup"} 3.0' in text
    assert 'newsflow_records_out_total{stage="dedup",topic="news.duplicates"} 1.0' in text
    assert 'newsflow_duplicates_total{kind="near"} 1.0' in text
    assert 'newsflow_dead_letters_total{reason="body has N words",stage="dedup"} 1.0' in text
    assert 'newsflow_records_failed_total{stage="dedup"} 1.0' in text
    assert 'newsflow_stage_latency_seconds_sum{stage="dedup"} 0.003' in text
    assert "newsflow_corrections_per_article_sum 3.0" in text


def test_reason_labels_are_short_and_free_of_numbers():
    assert reason_label("invalid JSON: unexpected end of data: line 1 column 2 (char 1)") == "invalid JSON"
    assert reason_label("not an article: 0 word(s)") == "not an article"
    assert reason_label("payload of 3000000 bytes over the limit") == "payload of N bytes over the limit"
    assert reason_label("") == "unknown" and len(reason_label("x" * 500)) == 60


def test_json_log_lines_carry_stage_article_and_origin():
    rec = logging.LogRecord("newsflow.worker", logging.WARNING, __file__, 1, "dead letter: %s", ("boom",), None)
    rec.stage, rec.article_id, rec.origin = "tag", "abc", "feeds/x.txt"
    doc = orjson.loads(JsonFormatter().format(rec))
    assert doc["message"] == "dead letter: boom" and doc["level"] == "WARNING"
    assert (doc["stage"], doc["article_id"], doc["origin"]) == ("tag", "abc", "feeds/x.txt")
    assert doc["time"].endswith("+00:00")


def test_compose_and_dockerfile_health_checks_ask_ready():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("worker1", "worker2"):
        assert "/ready" in " ".join(services[name]["healthcheck"]["test"])
    assert "/ready" in (ROOT / "deploy" / "Dockerfile").read_text().split("HEALTHCHECK", 1)[1]


def dashboard_exprs() -> list[str]:
    dash = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "newsflow.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def exported_series() -> set[str]:
    """Every series name a worker's /metrics can carry (counters with _total, histograms' three series)."""
    m = WorkerMetrics()
    m.live.tag_executor = SimpleNamespace(_processes={})
    names = set()
    for line in m.text().decode().splitlines():
        match = re.match(r"# TYPE (\w+) (\w+)", line)
        if match:
            name, kind = match.groups()
            names |= {"counter": {name if name.endswith("_total") else f"{name}_total"}, "histogram": {f"{name}_bucket", f"{name}_sum", f"{name}_count"},
                      }.get(kind, {name})
    return names


def test_every_metric_the_grafana_dashboard_queries_is_exported():
    exprs = dashboard_exprs()
    used = {n for e in exprs for n in re.findall(r"\bnewsflow_\w+", e)}
    assert len(used) >= 12
    assert used <= exported_series(), used - exported_series()


def test_prometheus_and_grafana_are_wired_in_compose():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    prom = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    workers = {n for n in services if n.startswith("worker")}
    port = {services[w]["environment"]["NEWSFLOW_WEB_PORT"] for w in workers}
    assert targets == {f"{w}:{p}" for w in workers for p in port}
    assert prom["scrape_configs"][0]["metrics_path"] == "/metrics"
    mounts = " ".join(services["prometheus"]["volumes"])
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml" in mounts
    g = " ".join(services["grafana"]["volumes"])
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning" in g and "./deploy/grafana/dashboards:" in g
    ds = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    assert ds["url"] == "http://prometheus:9090"
    dash = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "newsflow.json").read_text())
    assert {p["datasource"]["uid"] for p in dash["panels"]} == {ds["uid"]}
