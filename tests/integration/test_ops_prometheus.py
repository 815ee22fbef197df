"""Issue 21: a real Prometheus server (Debian's ``prometheus``, deploy/ci/tools.sh) scrapes a real worker while it
processes articles; its HTTP query API must give the counts that were sent, and every query of the Grafana
dashboard must evaluate on it."""

import asyncio
import shutil
import subprocess
import time
import urllib.parse

import orjson
import pytest

from pipeline import topics
from pipeline.brokers.embedded import free_port, wait_for_port
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.clients import publish_raw
from schemas import RawArticle
from tests.conftest import collect, settings_for
from tests.integration.test_ops_worker import articles, get, wait_ready
from tests.services import skip_or_fail
from tests.unit.test_ops_metrics import dashboard_exprs

pytestmark = pytest.mark.integration


@pytest.fixture
def prometheus(tmp_path):
    """Start Prometheus on a free port with a config made by the test (``start(target)``); stopped afterwards."""
    exe = shutil.which("prometheus")
    if not exe:
        skip_or_fail("prometheus is not installed (apt-get install prometheus; deploy/ci/tools.sh)")
    procs = []

    def start(target: str) -> str:
        port = free_port()
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: newsflow\n"
                       f"    metrics_path: /metrics\n    static_configs:\n      - targets: ['{target}']\n")
        log = open(tmp_path / "prometheus.log", "wb")
        procs.append(subprocess.Popen([exe, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                       f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT))
        wait_for_port("127.0.0.1", port, timeout=30)
        return f"http://127.0.0.1:{port}"

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def query(base: str, expr: str) -> dict:
    status, body = get(f"{base}/api/v1/query?query={urllib.parse.quote(expr)}")
    assert status == 200, (expr, status, body[:500])
    doc = orjson.loads(body)
    assert doc["status"] == "success", doc
    return doc["data"]


def value(base: str, expr: str) -> float | None:
    res = query(base, expr)["result"]
    return float(res[0]["value"][1]) if res else None


async def until(base: str, expr: str, want: float, timeout: float = 60.0) -> float | None:
    deadline, got = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        got = await asyncio.to_thread(value, base, expr)
        if got == want:
            return got
        await asyncio.sleep(0.5)
    return got


async def test_prometheus_scrapes_a_worker_and_its_counters_match_what_was_sent(broker, make_worker, prometheus):
    settings = settings_for(broker)
    await ensure_topics(settings)
    port = free_port()
    worker = make_worker("promw", extra_env={"NEWSFLOW_WEB_ENABLED": "true", "NEWSFLOW_WEB_PORT": str(port)}).start()
    await wait_ready(f"http://127.0.0.1:{port}")
    prom = prometheus(f"127.0.0.1:{port}")
    assert await until(prom, 'up{job="newsflow"}', 1.0, timeout=30) == 1.0

    good = articles(8, "prom")
    copies = [RawArticle.from_bytes(good[i].payload_bytes(), f"prom/copy-{i}.txt") for i in range(2)]
    bad = [RawArticle.from_bytes(b"{", "prom/bad.json"), RawArticle.from_bytes(b"\xff\xfe\x00", "prom/bin"),
           RawArticle.from_bytes(b"short", "prom/short.txt")]
    await publish_raw(settings, good + copies + bad)
    got = await collect(settings, wanted=13, timeout=120)
    assert {t: len(v) for t, v in got.items()} == {topics.ENRICHED: 8, topics.DUPLICATES: 2, topics.DLQ: 3}, \
        worker.log()[-3000:]

    expected = {
        'sum(newsflow_records_in_total{stage="parse"})': 13.0,
        'sum(newsflow_records_out_total{stage="stories",topic="news.enriched"})': 8.0,
        'sum(newsflow_records_out_total{stage="dedup",topic="news.duplicates"})': 2.0,
        'sum(newsflow_duplicates_total)': 2.0,
        'sum(newsflow_dead_letters_total{stage="parse"})': 3.0,
        'sum(newsflow_records_failed_total)': 3.0,
        'sum(newsflow_stage_latency_seconds_count{stage="normalize"})': 8.0,
        'sum(newsflow_entities_per_article_count)': 8.0,
        'sum(newsflow_consumer_lag)': 0.0,
        'sum(newsflow_ready)': 1.0,
    }
    for expr, want in expected.items():
        assert await until(prom, expr, want) == want, expr

    # every query of deploy/grafana/dashboards/newsflow.json evaluates (Grafana's $__rate_interval: 1m here),
    # and every metric it names has series on this Prometheus
    for expr in dashboard_exprs():
        query(prom, expr.replace("$__rate_interval", "1m"))
    import re

    for name in sorted({n for e in dashboard_exprs() for n in re.findall(r"\bnewsflow_\w+", e)}):
        assert query(prom, f"count({name})")["result"], f"no series {name} on Prometheus"
