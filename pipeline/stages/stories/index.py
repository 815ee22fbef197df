"""The stories stage's state: the articles of the window (their features), the stories, and expiry.

- ``StoryStore``: derived, in memory: document frequencies (all articles and per outlet), the stories
  and an inverted index feature -> stories. It can always be rebuilt from the articles and stories.
- ``MemoryStoryIndex``: a ``StoryStore`` alone; tests, ``newsflow process``, ``newsflow eval stories``.
- ``TableStoryIndex``: a Faust table (changelog-backed) holds ``a:<article id>`` -> ``[ts, source,
  story id, feature keys]`` and ``s:<story id>`` -> the story's state; the store is rebuilt from the
  table on first use and after every recovery. Expiry deletes the keys of articles and stories that
  left the window, so the changelog gets tombstones.

Expiry is by event time: everything older than ``window_s`` before the newest article seen.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from typing import Any, Iterable

from pipeline.stages.stories.stage import Features, StoryState

log = logging.getLogger("newsflow.stories")

ARTICLE_PREFIX = "a:"
STORY_PREFIX = "s:"


class StoryStore:
    def __init__(self) -> None:
        self.n_docs = 0
        self._df: Counter[str] = Counter()
        self._src_n: Counter[str] = Counter()
        self._src_df: dict[str, Counter[str]] = {}
        self.stories: dict[str, StoryState] = {}
        self._by_key: dict[str, set[str]] = {}
        self.articles: dict[str, tuple[float, str | None, str, list[str]]] = {}
        self._order: deque[tuple[float, str]] = deque()
        self.watermark = 0.0

    # Stats ---------------------------------------------------------------------------------------
    def df(self, key: str) -> int:
        return self._df.get(key, 0)

    def source_docs(self, source: str) -> int:
        return self._src_n.get(source, 0)

    def source_df(self, source: str, key: str) -> int:
        c = self._src_df.get(source)
        return c.get(key, 0) if c else 0

    # articles and stories --------------------------------------------------------------------------
    def count(self, article_id: str, ts: float, source: str | None, story_id: str, keys: list[str]) -> None:
        if article_id in self.articles:
            return
        self.articles[article_id] = (ts, source, story_id, keys)
        self._order.append((ts, article_id))
        self.n_docs += 1
        self._df.update(keys)
        if source:
            self._src_n[source] += 1
            self._src_df.setdefault(source, Counter()).update(keys)
        self.watermark = max(self.watermark, ts)

    def put_story(self, st: StoryState) -> None:
        self.stories[st.story_id] = st
        for key in st.counts:
            self._by_key.setdefault(key, set()).add(st.story_id)

    def candidates(self, keys: Iterable[str], since: float) -> list[StoryState]:
        ids: set[str] = set()
        for k in keys:
            ids |= self._by_key.get(k, set())
        out = [self.stories[i] for i in sorted(ids) if i in self.stories]
        return [st for st in out if st.last_ts >= since]

    def expire(self, before: float) -> tuple[list[str], list[str]]:
        """Forget articles and stories older than ``before``; the ids that went."""
        gone_articles = []
        for ts, aid in sorted(self._order):
            if ts >= before:
                break
            gone_articles.append(aid)
        if gone_articles:
            gone_set = set(gone_articles)
            self._order = deque(x for x in self._order if x[1] not in gone_set)
        for aid in gone_articles:
            ts, source, _, keys = self.articles.pop(aid)
            self.n_docs -= 1
            self._df.subtract(keys)
            if source:
                self._src_n[source] -= 1
                self._src_df[source].subtract(keys)
        if gone_articles:
            self._df = +self._df
            for s in list(self._src_df):
                self._src_df[s] = +self._src_df[s]
        gone_stories = [sid for sid, st in self.stories.items() if st.last_ts < before]
        for sid in gone_stories:
            st = self.stories.pop(sid)
            for key in st.counts:
                ids = self._by_key.get(key)
                if ids:
                    ids.discard(sid)
                    if not ids:
                        del self._by_key[key]
        return gone_articles, gone_stories


class MemoryStoryIndex:
    """Everything in a ``StoryStore``; expiry sweeps run as the index grows (amortised O(1) an article)."""

    def __init__(self, window_s: float = 3 * 86400.0, sweep_every: int = 1000):
        self.window_s = window_s
        self.sweep_every = sweep_every
        self.store = StoryStore()
        self._since_sweep = 0

    @property
    def stats(self) -> StoryStore:
        return self.store

    def placed(self, article_id: str) -> str | None:
        a = self.store.articles.get(article_id)
        return a[2] if a else None

    def story(self, story_id: str) -> StoryState | None:
        return self.store.stories.get(story_id)

    def candidates(self, keys: Iterable[str], since: float) -> list[StoryState]:
        return self.store.candidates(keys, since)

    def add(self, article_id: str, feats: Features, story: StoryState) -> None:
        self.store.count(article_id, feats.ts, feats.source, story.story_id, list(feats.keys))
        self.store.put_story(story)
        self._since_sweep += 1
        if self._since_sweep >= max(self.sweep_every, len(self.store.articles) // 4):
            self.sweep()

    def sweep(self) -> int:
        self._since_sweep = 0
        a, s = self.store.expire(self.store.watermark - 2 * self.window_s)
        return len(a) + len(s)


class TableStoryIndex:
    """The worker's index: the durable part in ``table`` (a Faust table, changelog-backed); the store is
    derived from it. Writes and deletes happen inside the stories agent's stream iteration."""

    def __init__(self, table: Any, window_s: float = 3 * 86400.0, sweep_interval_s: float = 60.0):
        self.table = table
        self.window_s = window_s
        self.sweep_interval_s = sweep_interval_s
        self._store: StoryStore | None = None
        self._last_sweep = time.monotonic()
        self.rebuilds = 0

    def invalidate(self) -> None:
        self._store = None

    def ensure(self) -> StoryStore:
        if self._store is None:
            t0 = time.perf_counter()
            store = StoryStore()
            for key, v in list(self.table.items()):
                if not v or not isinstance(key, str):
                    continue
                if key.startswith(ARTICLE_PREFIX):
                    store.count(key[len(ARTICLE_PREFIX):], float(v[0]), v[1], v[2], list(v[3]))
                elif key.startswith(STORY_PREFIX):
                    store.put_story(StoryState.from_json(v))
            self._store = store
            self.rebuilds += 1
            log.info("stories index: rebuilt from table %s: %d article(s), %d story(ies) in %.3f s (rebuild #%d)",
                     getattr(self.table, "name", "?"), len(store.articles), len(store.stories),
                     time.perf_counter() - t0, self.rebuilds)
        return self._store

    @property
    def stats(self) -> StoryStore:
        return self.ensure()

    def placed(self, article_id: str) -> str | None:
        a = self.ensure().articles.get(article_id)
        return a[2] if a else None

    def story(self, story_id: str) -> StoryState | None:
        return self.ensure().stories.get(story_id)

    def candidates(self, keys: Iterable[str], since: float) -> list[StoryState]:
        return self.ensure().candidates(keys, since)

    def add(self, article_id: str, feats: Features, story: StoryState) -> None:
        store = self.ensure()
        keys = list(feats.keys)
        self.table[ARTICLE_PREFIX + article_id] = [feats.ts, feats.source, story.story_id, keys]
        self.table[STORY_PREFIX + story.story_id] = story.to_json()
        store.count(article_id, feats.ts, feats.source, story.story_id, keys)
        store.put_story(story)

    def sweep_due(self) -> bool:
        return time.monotonic() - self._last_sweep >= self.sweep_interval_s

    def sweep(self) -> int:
        """Delete the keys of articles and stories that left the window (call inside the stream iteration)."""
        self._last_sweep = time.monotonic()
        store = self.ensure()
        articles, stories = store.expire(store.watermark - 2 * self.window_s)
        for key in [ARTICLE_PREFIX + a for a in articles] + [STORY_PREFIX + s for s in stories]:
            if key in self.table:
                del self.table[key]
        if articles or stories:
            log.info("stories index: expired %d article(s) and %d story(ies)", len(articles), len(stories))
        return len(articles) + len(stories)
