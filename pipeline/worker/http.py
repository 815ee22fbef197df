"""HTTP ingest on the worker (issue 7): ``POST /articles`` for producers that cannot speak Kafka.

Served by Faust's web server when ``web_enabled`` is set (``newsflow worker --web``), bound to
``web_host`` (127.0.0.1 by default) and ``web_port``. The body is one article: JSON (an object; an
array publishes one article per element), plain text or HTML, exactly as the files ``newsflow ingest``
reads. Bodies over ``max_payload_bytes`` get 413; with ``ingest_token`` set, requests need
``Authorization: Bearer TOKEN`` (401 otherwise). Accepted articles are on ``news.raw`` (acknowledged
by the broker) before the answer, 202 with the origin and the id each article will have::

    {"accepted": [{"origin": "http:/articles", "id": "3f1c..."}], "topic": "news.raw"}

The origin is the ``X-Newsflow-Origin`` header (or ``?origin=``), e.g. the article's URL; without
one it is ``http:/articles``. The id is ``sha256(origin, payload)``, so posting the same article again
is a redelivery, not a new article.
"""

from __future__ import annotations

import hmac

import faust
import orjson
from faust.web import Request, Response, View

from pipeline import topics
from pipeline.settings import Settings
from pipeline.stages.parse import article_id
from pipeline.kafka.wire import encode
from schemas import RawArticle

DEFAULT_ORIGIN = "http:/articles"
_MEDIA = {"application/json": "application/json", "text/html": "text/html", "application/xhtml+xml": "text/html",
          "text/plain": "text/plain"}


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, or BodyTooLarge as soon as it passes ``limit`` bytes (never buffers more)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def raws_from_body(body: bytes, content_type: str, origin: str) -> list[RawArticle]:
    """One RawArticle per article in the body; ValueError with a reason when there is none."""
    media = _MEDIA.get(content_type.split(";")[0].strip().lower())
    if not body.strip():
        raise ValueError("empty body")
    if media == "application/json" or (media is None and body.lstrip()[:1] in (b"{", b"[")):
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON: {exc}") from None
        if isinstance(doc, list):
            if not doc or not all(isinstance(d, dict) for d in doc):
                raise ValueError("a JSON array must hold article objects")
            return [RawArticle.from_bytes(orjson.dumps(d), f"{origin}#{i}", "application/json")
                    for i, d in enumerate(doc, 1)]
        if not isinstance(doc, dict):
            raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
        return [RawArticle.from_bytes(body, origin, "application/json")]
    if media is not None and ";" in content_type:  # keep the parameters: the parse stage reads charset=
        media += content_type[content_type.index(";"):]
    return [RawArticle.from_bytes(body, origin, media)]


def register_http(app: faust.App, settings: Settings) -> None:
    raw_t = app.topic(topics.RAW, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    token = settings.ingest_token.get_secret_value() if settings.ingest_token else None
    limit = settings.max_payload_bytes

    @app.page("/articles")
    class Articles(View):
        async def post(self, request: Request) -> Response:
            if token:
                given = request.headers.get("Authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                    return self.json({"error": "missing or wrong bearer token"}, status=401)
            try:
                body = await read_limited(request, limit)
            except BodyTooLarge:
                return self.json({"error": f"body over the limit of {limit:,} bytes"}, status=413)
            origin = (request.headers.get("X-Newsflow-Origin") or request.query.get("origin") or DEFAULT_ORIGIN).strip()
            try:
                raws = raws_from_body(body, request.headers.get("Content-Type", ""), origin[:2000])
            except ValueError as exc:
                return self.json({"error": str(exc)}, status=400)
            accepted = []
            for raw in raws:
                fut = await raw_t.send(key=raw.origin.encode(), value=encode(raw))
                await fut
                accepted.append({"origin": raw.origin, "id": article_id(raw.origin, raw.payload_bytes())})
            return self.json({"accepted": accepted, "topic": topics.RAW}, status=202)

        async def get(self, request: Request) -> Response:
            return self.json({"error": "POST an article (JSON, text or HTML) to this URL"}, status=405)


# ---- issue 21: operations endpoints ----------------------------------------------------------------


def register_ops_http(app: faust.App) -> None:
    """``/health`` (the process answers: 200), ``/ready`` (200 once the worker is a member of its group with
    partitions assigned and its models loaded; 503 with the reasons before that and during a rebalance) and
    ``/metrics`` (Prometheus text format, ``pipeline.worker.metrics``)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    ops = app.newsflow_ops  # type: ignore[attr-defined]

    @app.page("/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "alive", "app_id": ops.settings.app_id})

    @app.page("/ready")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            r = ops.readiness
            problems = r.problems()
            parts = sorted(f"{tp.topic}/{tp.partition}" for tp in r.partitions)
            body = {"ready": not problems, "group": ops.settings.app_id, "stages": list(ops.settings.stages),
                    "partitions": parts, "models_loaded": r.models_loaded, "problems": problems}
            return self.json(body, status=200 if not problems else 503)

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(ops.metrics.text(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
