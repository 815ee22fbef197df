"""RSS and Atom feeds as a source (issue 7): ``newsflow ingest --feed URL|FILE [--every SECONDS]``.

Each feed item becomes one ``RawArticle`` on ``news.raw``: a JSON object (title, body from the item's
content or summary, url, source = the feed's title, published, categories, authors) whose origin is
the item's link (else ``FEED#guid``), so the same item always gets the same article id. Items already
published are remembered per feed in a small JSON file (``data_dir/feeds-seen.json`` by default) and
skipped on the next poll; an item is remembered only once the broker acknowledged it. HTTP polling
sends ``If-None-Match``/``If-Modified-Since`` and skips work on 304. The parsing itself is feedparser's
(every RSS/Atom dialect, dates in any format).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson

from pipeline.errors import ConfigError
from schemas import RawArticle

#: how many item keys are remembered per feed (oldest forgotten first)
SEEN_PER_FEED = 20_000
USER_AGENT = "newsflow-feeds/1 (+https://github.com/newsflow)"


class FeedError(ConfigError):
    """A feed that cannot be fetched or read: one line, and the poller goes on with the others."""


@dataclass
class FeedState:
    etag: str | None = None
    modified: str | None = None
    seen: list[str] = field(default_factory=list)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(source: str, max_bytes: int, state: FeedState | None = None, timeout: float = 30.0) -> bytes | None:
    """The feed's bytes; None when an HTTP server says it has not changed (304)."""
    if not is_url(source):
        path = Path(source.removeprefix("file://"))
        try:
            if path.stat().st_size > max_bytes:
                raise FeedError(f"{source}: feed of {path.stat().st_size:,} bytes is over the limit of {max_bytes:,}")
            return path.read_bytes()
        except OSError as exc:
            raise FeedError(f"{source}: cannot read: {exc.strerror or exc}") from None
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, application/xml, */*"}
    if state and state.etag:
        headers["If-None-Match"] = state.etag
    if state and state.modified:
        headers["If-Modified-Since"] = state.modified
    try:
        with urllib.request.urlopen(urllib.request.Request(source, headers=headers), timeout=timeout) as resp:
            data = resp.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise FeedError(f"{source}: feed is over the limit of {max_bytes:,} bytes")
            if state is not None:
                state.etag = resp.headers.get("ETag") or state.etag
                state.modified = resp.headers.get("Last-Modified") or state.modified
            return data
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return None
        raise FeedError(f"{source}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FeedError(f"{source}: cannot fetch: {getattr(exc, 'reason', None) or exc}") from None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def item_key(entry: Any) -> str:
    key = _text(entry.get("id")) or _text(entry.get("link"))
    if key:
        return key
    basis = _text(entry.get("title")) + "\0" + _text(entry.get("summary"))
    return "sha256:" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def parse_feed(data: bytes, source: str) -> list[tuple[str, RawArticle]]:
    """(item key, RawArticle) for every item of the feed, in feed order."""
    import feedparser

    parsed = feedparser.parse(data)
    if not parsed.entries:
        if parsed.get("bozo"):
            reason = str(parsed.get("bozo_exception") or "malformed").splitlines()[0]
            raise FeedError(f"{source}: not a readable RSS/Atom feed ({reason})")
        return []
    feed_title = _text(parsed.feed.get("title")) or None
    out = []
    for e in parsed.entries:
        body = ""
        if e.get("content"):
            body = "\n\n".join(_text(c.get("value")) for c in e.content if _text(c.get("value")))
        body = body or _text(e.get("summary"))
        obj = {
            "title": _text(e.get("title")),
            "body": body,
            "url": link if (link := _text(e.get("link"))).startswith(("http://", "https://")) else None,
            "source": feed_title,
            "published": _text(e.get("published")) or _text(e.get("updated")) or None,
            "categories": [t.get("term") for t in e.get("tags", []) if _text(t.get("term"))],
            "authors": [a.get("name") for a in e.get("authors", []) if _text(a.get("name"))],
        }
        key = item_key(e)
        origin = obj["url"] or f"{source}#{key}"
        out.append((key, RawArticle.from_bytes(orjson.dumps(obj), origin, "application/json")))
    return out


class SeenStore:
    """Per feed: the keys of items already published, plus the HTTP validators (ETag, Last-Modified)."""

    def __init__(self, path: Path):
        self.path = path
        self.feeds: dict[str, FeedState] = {}
        if path.is_file():
            try:
                doc = orjson.loads(path.read_bytes())
                self.feeds = {k: FeedState(v.get("etag"), v.get("modified"), list(v.get("seen", [])))
                              for k, v in doc.items()}
            except (orjson.JSONDecodeError, AttributeError, TypeError):
                raise ConfigError(f"{path}: not a newsflow feed state file; move it away to start afresh") from None

    def state(self, source: str) -> FeedState:
        return self.feeds.setdefault(source, FeedState())

    def remember(self, source: str, keys: list[str]) -> None:
        st = self.state(source)
        st.seen.extend(keys)
        del st.seen[:-SEEN_PER_FEED]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps({k: v.__dict__ for k, v in self.feeds.items()}, option=orjson.OPT_INDENT_2))
        os.replace(tmp, self.path)


async def poll_once(settings, sources: list[str], store: SeenStore, producer, max_bytes: int,
                    report=None) -> dict[str, int]:
    """Fetch every feed once and publish its new items; returns new items per feed (-1: the feed failed)."""
    from pipeline import topics
    from pipeline.kafka.wire import encode

    loop = asyncio.get_running_loop()
    counts: dict[str, int] = {}
    for source in sources:
        st = store.state(source)
        try:
            data = await loop.run_in_executor(None, fetch, source, max_bytes, st)
            items = [] if data is None else await loop.run_in_executor(None, parse_feed, data, source)
        except FeedError as exc:
            if report:
                report(str(exc))
            counts[source] = -1
            continue
        seen = set(st.seen)
        new = [(k, r) for k, r in items if k not in seen]
        futures = [await producer.send(topics.RAW, value=encode(r), key=r.origin.encode()) for _, r in new]
        await asyncio.gather(*futures)
        store.remember(source, [k for k, _ in new])
        store.save()
        counts[source] = len(new)
    return counts


async def poll_feeds(settings, sources: list[str], store: SeenStore, *, every: float | None = None,
                     polls: int | None = None, report: Callable[[str], None] | None = None,
                     on_poll: Callable[[dict[str, int]], None] | None = None) -> bool:
    """Poll the feeds once, or every ``every`` seconds (``polls`` times, or until stopped), publishing new items.

    ``report`` gets each feed's failure, ``on_poll`` each poll's counts (``poll_once``'s). Returns whether a
    feed failed on the last poll."""
    from pipeline.connectors.sources.publish import open_producer

    async with open_producer(settings) as producer:
        n = 0
        while True:
            counts = await poll_once(settings, sources, store, producer, settings.max_payload_bytes * 64, report=report)
            if on_poll:
                on_poll(counts)
            n += 1
            if every is None or (polls is not None and n >= polls):
                return any(c < 0 for c in counts.values())
            await asyncio.sleep(every)
