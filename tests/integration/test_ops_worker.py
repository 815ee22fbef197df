"""Issue 21: a real worker's /health, /ready and /metrics, its ready line and JSON logs, on the test broker."""

import asyncio
import re
import time
import urllib.error
import urllib.request

import orjson
import pytest

from pipeline import topics
from pipeline.brokers.embedded import free_port
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.clients import publish_raw
from schemas import RawArticle
from tests.conftest import collect, settings_for

pytestmark = pytest.mark.integration


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def articles(n: int, tag: str = "ops") -> list[RawArticle]:
    """``n`` distinct articles (no two near-duplicates: each has its own subject words)."""
    subjects = ["harvest in Kenya", "rail strike in Lyon", "floods near Dhaka", "election in Chile",
                "chip plant in Ohio", "drought across Spain", "bridge repairs in Oslo", "port expansion in Durban",
                "wildfires near Athens", "tram line in Leeds", "solar farm in Morocco", "vaccine trial in Brazil"]
    return [RawArticle.from_bytes(f"{subjects[i % 12].title()} {tag} {i}\n\nOfficials said the {subjects[i % 12]} "
                                  f"would shape the coming months, and {tag} reporters counted {i * 37 + 11} people "
                                  f"at the {subjects[(i * 5 + 3) % 12]} meeting on day {i}.".encode(), f"{tag}/{i}.txt")
            for i in range(n)]


def samples(text: str, name: str) -> dict[tuple, float]:
    """{sorted label pairs: value} of one metric in Prometheus text format."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if m:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(1) or "")))
            out[labels] = float(m.group(2))
    return out


async def wait_ready(base: str, timeout: float = 120.0) -> list[tuple[int, dict]]:
    """Poll /ready until 200; every answer seen on the way."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = await asyncio.to_thread(get, base + "/ready", 2.0)
        if status:
            seen.append((status, orjson.loads(body)))
            if status == 200:
                return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"not ready within {timeout} s: {seen[-3:]}")


async def test_health_ready_metrics_ready_line_and_json_logs(broker, make_worker):
    settings = settings_for(broker)
    await ensure_topics(settings)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = make_worker("opsw", extra_env={"NEWSFLOW_WEB_ENABLED": "true", "NEWSFLOW_WEB_PORT": str(port),
                                            "NEWSFLOW_LOG_FORMAT": "json", "NEWSFLOW_LOG_LEVEL": "WARNING"}).start()
    # alive before it is ready: /health answers as soon as the web server is up
    deadline = time.monotonic() + 60
    while (await asyncio.to_thread(get, base + "/health", 2.0))[0] != 200:
        assert worker.alive() and time.monotonic() < deadline, worker.log()[-3000:]
        await asyncio.sleep(0.05)
    seen = await wait_ready(base)
    for status, body in seen[:-1]:
        assert status == 503 and body["problems"] and not body["ready"]
    final = seen[-1][1]
    assert final["ready"] and final["models_loaded"] and final["group"] == "opsw"
    assert {p.rsplit("/", 1)[0] for p in final["partitions"]} == {t for t, _ in topics.STAGE_TOPICS.values()}

    good = articles(6)
    copies = [RawArticle.from_bytes(good[0].payload_bytes(), "ops/copy.txt")]
    bad = [RawArticle.from_bytes(b"{", "ops/bad.json"), RawArticle.from_bytes(b"too short", "ops/short.txt")]
    await publish_raw(settings, good + copies + bad)
    got = await collect(settings, wanted=9, timeout=120)
    assert {t: len(v) for t, v in got.items()} == {topics.ENRICHED: 6, topics.DUPLICATES: 1, topics.DLQ: 2}

    status, body = await asyncio.to_thread(get, base + "/metrics")
    assert status == 200
    text = body.decode()
    ins = samples(text, "newsflow_records_in_total")
    assert ins[(("stage", "parse"),)] == 9 and ins[(("stage", "enrich"),)] == 6
    outs = samples(text, "newsflow_records_out_total")
    assert outs[(("stage", "parse"), ("topic", topics.PARSED))] == 7
    assert outs[(("stage", "dedup"), ("topic", topics.UNIQUE))] == 6
    assert outs[(("stage", "dedup"), ("topic", topics.DUPLICATES))] == 1
    assert outs[(("stage", "enrich"), ("topic", topics.UNCLUSTERED))] == 6
    assert outs[(("stage", "stories"), ("topic", topics.ENRICHED))] == 6
    assert samples(text, "newsflow_records_failed_total") == {(("stage", "parse"),): 2}
    assert sum(samples(text, "newsflow_dead_letters_total").values()) == 2
    assert samples(text, "newsflow_duplicates_total") == {(("kind", "exact"),): 1}
    assert samples(text, "newsflow_stage_latency_seconds_count")[(("stage", "tag"),)] == 6
    assert samples(text, "newsflow_entities_per_article_count")[()] == 6
    assert samples(text, "newsflow_corrections_per_article_count")[()] == 6
    assert sum(samples(text, "newsflow_batch_size_sum").values()) == 12  # tag and enrich: 6 articles each
    assert samples(text, "newsflow_rebalances_total")[()] >= 1
    assert samples(text, "newsflow_ready")[()] == 1
    lag = samples(text, "newsflow_consumer_lag")
    assert lag and all(v == 0 for v in lag.values())
    assert samples(text, "newsflow_tag_processes_alive")[(("expected", "2"),)] == 2

    # the logs: one JSON object a line; the ready line names broker, group, stages, partitions; the dead
    # letters' lines carry stage, article id and origin
    lines = [orjson.loads(line[line.index("{"):]) for line in worker.log().splitlines() if "{" in line]
    ready = [d for d in lines if d["logger"] == "newsflow.ready"]
    assert len(ready) == 1 and ready[0]["group"] == "opsw" and ready[0]["broker"] == broker.address
    assert ready[0]["stages"] == list(topics.STAGES) and set(ready[0]["partitions"]) >= {topics.RAW}
    dead = [d for d in lines if d["message"].startswith("dead letter")]
    assert {d["origin"] for d in dead} == {"ops/bad.json", "ops/short.txt"} and {d["stage"] for d in dead} == {"parse"}
    assert all("article_id" in d for d in dead)
