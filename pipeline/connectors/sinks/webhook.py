"""Webhook alert sink (issue 21): POST the articles of ``news.enriched`` that match a rule to a URL.

A rule matches an article when any of its terms does (case-insensitive): an entity (its canonical name or
its text), a keyword, a category label, or a country (ISO 3166-1 alpha-2: the article's primary country,
its places' or its entities'). No rule at all: every article is posted.

Each match is one ``POST`` of JSON ``{"matched": {"entities": [...], ...}, "article": {...}}`` with the
header ``Idempotency-Key: <article id>`` (a redelivery after a crash or a retry names the same article).
A connection error, a timeout, 429 or 5xx is retried ``retries`` times with exponential backoff
(``backoff_s``, doubled each time, capped at 30 s); any other answer (a 4xx: the receiver refuses it) is not.
What still fails becomes a dead letter of the sink's own (a ``DeadLetter`` record, stage ``webhook``, the
body it tried as payload, one JSON line in ``dead_letter_path``), so nothing is lost and the consumer
group moves on. The URL may hold a token: it is never printed; errors name its host only.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import orjson

from pipeline.errors import ConfigError
from pipeline.kafka.wire import encode
from schemas import DeadLetter, EnrichedArticle

log = logging.getLogger("newsflow.sink.webhook")


@dataclass
class Rules:
    entities: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.entities or self.keywords or self.categories or self.countries)

    def match(self, a: EnrichedArticle) -> dict[str, list[str]] | None:
        """What matched (by kind), or None. With no rule every article matches (``{}``)."""
        if self.empty():
            return {}
        low = lambda xs: {x.lower() for x in xs if x}  # noqa: E731
        names = low([e.canonical or e.text for e in a.entities] + [e.text for e in a.entities])
        countries = {c.upper() for c in [a.primary_country] + [p.country_code for p in a.places]
                     + [e.country_code for e in a.entities] if c}
        got = {
            "entities": [t for t in self.entities if t.lower() in names],
            "keywords": [t for t in self.keywords if t.lower() in low(a.keywords)],
            "categories": [t for t in self.categories if t.lower() in low(c.label for c in a.categories)],
            "countries": [t for t in self.countries if t.upper() in countries],
        }
        got = {k: v for k, v in got.items() if v}
        return got or None


class WebhookSink:
    def __init__(self, url: str, rules: Rules | None = None, *, dead_letter_path: str | Path, retries: int = 4,
                 backoff_s: float = 0.5, timeout_s: float = 10.0, headers: dict[str, str] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("the webhook URL must be http:// or https:// with a host")
        self.url, self.host = url, parts.hostname
        self.rules = rules or Rules()
        self.retries, self.backoff_s, self.timeout_s = max(0, retries), backoff_s, timeout_s
        self.headers = headers or {}
        self.sleep = sleep
        self.dead_letter_path = Path(dead_letter_path)
        self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
        self.posted = self.dead = self.skipped = 0

    # ---- the Sink protocol ------------------------------------------------------------------------

    def write(self, batch: Sequence[EnrichedArticle]) -> None:
        for a in batch:
            matched = self.rules.match(a)
            if matched is None:
                self.skipped += 1
                continue
            body = orjson.dumps({"matched": matched, "article": orjson.loads(encode(a))})
            error = self.post(body, a.id)
            if error is None:
                self.posted += 1
            else:
                self.dead_letter(a, body, error)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    # ---- delivery ---------------------------------------------------------------------------------

    def post(self, body: bytes, key: str) -> str | None:
        """None once the receiver took it (2xx), else why it failed after the retries."""
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url, data=body, method="POST", headers={
                "Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": "newsflow-webhook",
                **self.headers})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                    r.read()
                    return None
            except urllib.error.HTTPError as exc:
                why, retry = f"HTTP {exc.code} from {self.host}", exc.code == 429 or exc.code >= 500
            except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out, DNS
                reason = getattr(exc, "reason", exc)
                why, retry = f"cannot reach {self.host}: {reason}", True
            if not retry or attempt == self.retries:
                return why + (f" (after {attempt + 1} attempts)" if attempt else "")
            log.warning("webhook: %s; retrying in %.1f s", why, delay)
            self.sleep(delay)
            delay = min(delay * 2, 30.0)
        return "unreachable"  # pragma: no cover

    def dead_letter(self, a: EnrichedArticle, body: bytes, reason: str) -> None:
        dl = DeadLetter(stage="webhook", reason=reason, error_type="WebhookError", origin=a.origin, article_id=a.id,
                        received_at=a.received_at, source_topic="news.enriched", payload=body.decode())
        with open(self.dead_letter_path, "ab") as f:
            f.write(encode(dl) + b"\n")
        self.dead += 1
        log.warning("webhook: article %s (%s) to the sink's dead letters: %s", a.id, a.origin, reason,
                    extra={"stage": "webhook", "article_id": a.id, "origin": a.origin})
