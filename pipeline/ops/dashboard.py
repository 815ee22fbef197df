"""``newsflow dashboard``: a live view of the pipeline in the browser, from the broker alone (issue 21).

One aiohttp server (the web library Faust already runs on) with three routes:

- ``/``: the page (``dashboard.html`` beside this module; no CDN, it works offline);
- ``/events``: server-sent events, one ``snapshot`` event (JSON) at once, then one when records arrive
  (at most every ``PUSH_MIN_S``) and at least every ``interval_s``;
- ``/api/snapshot``: the same JSON, once.

What it shows comes from two loops on the broker:

- a group-less consumer of ``news.enriched``, ``news.duplicates`` and ``news.dlq`` that starts at the records
  of the last hour (``offsets_for_times``) and keeps the latest articles, the dead letters by reason with
  their payloads, the entities and the stories (the stories stage's ``story_id``; dedup's duplicate group for a duplicate) trending in the last hour;
- ``pipeline.ops.status.cluster_status`` every ``interval_s``: throughput (records written per stage in the
  last minute) and lag per stage (summed over its groups), kept as a time series of the last 30 minutes.

The counts on the page (enriched, duplicates, dead letters) are those of the records of the last hour.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from importlib import resources
from typing import Any

import orjson
from aiohttp import web
from aiokafka import TopicPartition

from pipeline import topics
from pipeline.kafka.admin import admin_client, ensure_topics
from pipeline.kafka.clients import start_with_retry
from pipeline.ops.status import cluster_status, group_consumer, topic_partitions_of
from pipeline.settings import Settings
from pipeline.worker.metrics import reason_label
from schemas import DeadLetter, DuplicateArticle, EnrichedArticle

log = logging.getLogger("newsflow.dashboard")

WINDOW_S = 3600.0
HISTORY_S = 1800.0
PUSH_MIN_S = 0.5
LATEST = 30
DEAD_KEPT = 200
PAYLOAD_CHARS = 4000
#: entity labels left out of the trending list (dates and numbers are not what an article is about)
NOT_TRENDING = {"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "MONEY"}


def article_card(a: EnrichedArticle, ts: float) -> dict[str, Any]:
    named = [e for e in a.entities if e.label not in NOT_TRENDING]
    ents = sorted(named, key=lambda e: (-e.salience, -e.count))[:10]
    return {
        "id": a.id, "title": a.title, "url": a.url, "source": a.source, "origin": a.origin, "time": ts,
        "published_at": a.published_at.isoformat() if a.published_at else None, "language": a.language,
        "entities": [{"text": e.canonical or e.text, "label": e.label, "count": e.count} for e in ents],
        "entity_count": len(named),
        "categories": [{"label": c.label, "score": round(c.score, 2)} for c in a.categories[:4]],
        "corrections": [{"original": c.original, "corrected": c.corrected, "kind": c.kind} for c in a.corrections[:8]],
        "correction_count": len(a.corrections), "cluster_id": a.cluster_id, "story_id": a.story_id,
        "country": a.primary_country, "keywords": a.keywords[:6],
    }


class DashboardState:
    """What the page shows; fed by ``add`` (records) and ``tick`` (status snapshots)."""

    def __init__(self) -> None:
        self.enriched: deque[tuple[float, dict]] = deque()  # (ts, card), the last hour
        self.duplicates: deque[tuple[float, str, str | None]] = deque()  # (ts, kind, cluster)
        self.dead: deque[tuple[float, dict]] = deque()
        self.entities: deque[tuple[float, list[tuple[str, str]]]] = deque()
        self.stories: dict[str, dict[str, Any]] = {}  # cluster -> {"title", "first", "times": deque}
        self.history: deque[dict[str, Any]] = deque()
        self.status: dict[str, Any] | None = None
        self.status_error: str | None = None
        self.changed = asyncio.Event()
        self.started = time.time()

    # ---- records -----------------------------------------------------------------------------------

    def add(self, topic: str, value: bytes, ts: float) -> None:
        try:
            if topic == topics.ENRICHED:
                a = EnrichedArticle.model_validate(orjson.loads(value))
                self.enriched.append((ts, article_card(a, ts)))
                self.entities.append((ts, [(e.canonical or e.text, e.label) for e in a.entities
                                           if e.label not in NOT_TRENDING]))
                self._story(a.story_id or a.cluster_id, (a.story.title if a.story else None) or a.title, ts)
            elif topic == topics.DUPLICATES:
                d = DuplicateArticle.model_validate(orjson.loads(value))
                self.duplicates.append((ts, d.duplicate_kind, d.cluster_id))
                self._story(d.cluster_id, d.title, ts)
            elif topic == topics.DLQ:
                dl = DeadLetter.model_validate(orjson.loads(value))
                self.dead.append((ts, {
                    "time": ts, "stage": dl.stage, "reason": dl.reason, "reason_label": reason_label(dl.reason),
                    "origin": dl.origin, "error_type": dl.error_type, "article_id": dl.article_id,
                    "payload": dl.payload[:PAYLOAD_CHARS], "payload_encoding": dl.payload_encoding,
                    "payload_chars": len(dl.payload)}))
                while len(self.dead) > DEAD_KEPT * 10:
                    self.dead.popleft()
        except ValueError:
            log.warning("dashboard: a record on %s that does not fit its schema", topic)
            return
        self.changed.set()

    def _story(self, cluster: str | None, title: str, ts: float) -> None:
        if not cluster:
            return
        s = self.stories.setdefault(cluster, {"title": title, "first": ts, "times": deque()})
        s["times"].append(ts)

    def prune(self, now: float) -> None:
        cut = now - WINDOW_S
        for q in (self.enriched, self.duplicates, self.dead, self.entities):
            while q and q[0][0] < cut:
                q.popleft()
        for cid in list(self.stories):
            t = self.stories[cid]["times"]
            while t and t[0] < cut:
                t.popleft()
            if not t:
                del self.stories[cid]
        while self.history and self.history[0]["time"] < now - HISTORY_S:
            self.history.popleft()

    # ---- status ------------------------------------------------------------------------------------

    def tick(self, status: dict[str, Any]) -> None:
        self.status, self.status_error = status, None
        point = {"time": status["time"], "throughput": {}, "lag": {}}
        for s in status["stages"]:
            point["throughput"][s["stage"]] = s["out_last_minute"]
            point["lag"][s["stage"]] = sum(g["lag"] for g in s["groups"])
        self.history.append(point)
        self.changed.set()

    # ---- the page's JSON ---------------------------------------------------------------------------

    def snapshot(self, broker: str | None) -> dict[str, Any]:
        now = time.time()
        self.prune(now)
        by_reason: dict[tuple[str, str], dict[str, Any]] = {}
        for _, d in self.dead:
            k = (d["stage"], d["reason_label"])
            row = by_reason.setdefault(k, {"stage": k[0], "reason": k[1], "count": 0, "examples": []})
            row["count"] += 1
            row["examples"].append(d)
        reasons = sorted(by_reason.values(), key=lambda r: -r["count"])
        for r in reasons:
            r["examples"] = r["examples"][-5:][::-1]
        ents: Counter = Counter()
        for _, names in self.entities:
            for name_label in set(names):
                ents[name_label] += 1
        stories = sorted(({"cluster_id": cid, "title": s["title"], "articles": len(s["times"]),
                           "last": s["times"][-1]} for cid, s in self.stories.items()),
                         key=lambda s: (-s["articles"], -s["last"]))[:12]
        kinds = Counter(k for _, k, _ in self.duplicates)
        st = self.status or {}
        stages = [{"stage": s["stage"], "out_last_minute": s["out_last_minute"],
                   "lag": sum(g["lag"] for g in s["groups"]),
                   "groups": [{"group": g["group"], "members": g["members"], "lag": g["lag"]} for g in s["groups"]]}
                  for s in st.get("stages", [])]
        return {
            "broker": broker, "time": now, "window_s": WINDOW_S,
            "counts": {"enriched": len(self.enriched), "duplicates": len(self.duplicates), "dead_letters": len(self.dead),
                       "duplicate_kinds": dict(kinds)},
            "stages": stages, "history": list(self.history), "status_error": self.status_error,
            "dead_letters": reasons,
            "latest": [c for _, c in list(self.enriched)[-LATEST:]][::-1],
            "trending_entities": [{"text": n, "label": lab, "articles": c} for (n, lab), c in ents.most_common(15)],
            "trending_stories": stories,
        }


async def consume(settings: Settings, state: DashboardState, stop: asyncio.Event) -> None:
    """Feed ``state`` from the terminal topics, starting at the last hour's records."""
    admin = admin_client(settings)
    await start_with_retry(admin.start, settings)
    try:
        tps = await topic_partitions_of(admin, list(topics.TERMINAL))
    finally:
        await admin.close()
    consumer = group_consumer(settings)
    await start_with_retry(consumer.start, settings)
    try:
        consumer.assign(tps)
        since = int((time.time() - WINDOW_S) * 1000)
        at = await consumer.offsets_for_times({tp: since for tp in tps})
        end = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, at[tp].offset if at.get(tp) is not None else end[tp])
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            for tp, msgs in batch.items():
                for m in msgs:
                    state.add(tp.topic, m.value, (m.timestamp / 1000.0) if m.timestamp and m.timestamp > 0
                              else time.time())
    finally:
        await consumer.stop()


async def poll_status(settings: Settings, state: DashboardState, every_s: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            state.tick(await cluster_status(settings))
        except Exception as exc:  # noqa: BLE001 - shown on the page; the next poll may work
            state.status_error = f"{type(exc).__name__}: {exc}"
            state.changed.set()
            log.warning("dashboard: status from %s failed: %s", settings.broker, exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except asyncio.TimeoutError:
            pass


def page() -> bytes:
    return resources.files("pipeline.ops").joinpath("dashboard.html").read_bytes()


def make_app(settings: Settings, state: DashboardState, every_s: float) -> web.Application:
    html = page()

    async def index(request: web.Request) -> web.Response:
        return web.Response(body=html, content_type="text/html", charset="utf-8")

    async def snapshot(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(state.snapshot(settings.broker)), content_type="application/json")

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        try:
            while True:
                state.changed.clear()
                data = orjson.dumps(state.snapshot(settings.broker))
                await resp.write(b"event: snapshot\ndata: " + data + b"\n\n")
                try:
                    await asyncio.wait_for(state.changed.wait(), timeout=every_s)
                except asyncio.TimeoutError:
                    pass
                await asyncio.sleep(PUSH_MIN_S)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/events", events)
    app.router.add_get("/api/snapshot", snapshot)
    return app


async def serve(settings: Settings, host: str, port: int, every_s: float = 2.0, on_ready=None) -> None:
    await ensure_topics(settings)
    state = DashboardState()
    stop = asyncio.Event()
    runner = web.AppRunner(make_app(settings, state, every_s), shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    if on_ready:
        on_ready(f"http://{host}:{port}/")
    tasks = [asyncio.create_task(consume(settings, state, stop)),
             asyncio.create_task(poll_status(settings, state, every_s, stop))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            t.result()
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
