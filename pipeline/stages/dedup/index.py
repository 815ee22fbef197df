"""The dedup stage's state: exact fingerprints, MinHash LSH for near-copies and clusters, and expiry.

Two implementations of the interface ``pipeline.stages.dedup.stage`` needs (``DedupIndex`` + ``NearIndex``):

- ``MemoryDedupIndex``: a dict (exact fingerprints) with an in-memory ``SketchStore``; used by tests,
  ``newsflow process`` and ``newsflow eval dedup``. Expiry runs as the index grows.
- ``TableDedupIndex``: a Faust table (changelog-backed) holding every fingerprint and every article's
  MinHash state; the ``SketchStore`` (LSH buckets) is derived from the table, rebuilt from it on the
  first use and after every recovery, never stored itself. Expiry deletes table keys, so the changelog
  gets tombstones and a recovering worker reads only what is still in the window.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from typing import Any, Iterable

import rensa

from pipeline.stages.dedup.stage import (
    NUM_BANDS, NUM_PERM, SEED, TERM_BANDS, TERM_PERM, Indexed, Sketch, compact,
)

log = logging.getLogger("newsflow.dedup")

NEAR_PREFIX = "n:"


class SketchStore:
    """LSH buckets (rensa) over the MinHash of shingles and of key terms, with the compact signatures
    that verify a candidate. Derived state: it can always be rebuilt from the articles' MinHashes."""

    def __init__(self) -> None:
        self.lsh = rensa.RMinHashLSH(threshold=0.5, num_perm=NUM_PERM, num_bands=NUM_BANDS)
        self.term_lsh = rensa.RMinHashLSH(threshold=0.5, num_perm=TERM_PERM, num_bands=TERM_BANDS)
        self.by_slot: dict[int, Indexed] = {}
        self.slot_of: dict[str, int] = {}
        self._next = 0
        self.watermark = 0.0

    def __len__(self) -> int:
        return len(self.by_slot)

    def add(self, entry: Indexed, minhash: rensa.RMinHash | None, terms: rensa.RMinHash | None) -> None:
        if entry.id in self.slot_of:
            return
        slot = self._next
        self._next += 1
        if minhash is not None:
            self.lsh.insert(slot, minhash)
        if terms is not None:
            self.term_lsh.insert(slot, terms)
        self.by_slot[slot] = entry
        self.slot_of[entry.id] = slot
        self.watermark = max(self.watermark, entry.ts)

    def near(self, minhash: rensa.RMinHash | None) -> list[Indexed]:
        if minhash is None:
            return []
        return [self.by_slot[s] for s in self.lsh.query(minhash) if s in self.by_slot]

    def related(self, terms: rensa.RMinHash | None) -> list[Indexed]:
        if terms is None:
            return []
        return [self.by_slot[s] for s in self.term_lsh.query(terms) if s in self.by_slot]

    def remove(self, article_id: str) -> bool:
        slot = self.slot_of.pop(article_id, None)
        if slot is None:
            return False
        self.lsh.remove(slot)
        self.term_lsh.remove(slot)
        del self.by_slot[slot]
        return True

    def expire(self, before: float) -> list[str]:
        old = [e.id for e in self.by_slot.values() if e.ts < before]
        for article_id in old:
            self.remove(article_id)
        return old


def _ts_of(value: Any) -> float:
    if isinstance(value, dict):
        return float(value.get("ts", 0.0))
    return float(value[2])


class MemoryDedupIndex(dict):
    """Exact fingerprints in the dict itself; near-copies and clusters in a ``SketchStore``.

    Entries older than ``window_s`` before the newest article seen (event time) are dropped by a
    sweep that runs after every ``max(sweep_every, len/4)`` insertions (amortised O(1) per article);
    between sweeps the stage ignores expired entries itself.
    """

    def __init__(self, window_s: float = 7 * 86400.0, sweep_every: int = 1000):
        super().__init__()
        self.window_s = window_s
        self.sweep_every = sweep_every
        self.store = SketchStore()
        self._since_sweep = 0

    def near_candidates(self, sk: Sketch) -> list[Indexed]:
        return self.store.near(sk.minhash)

    def cluster_candidates(self, sk: Sketch) -> list[Indexed]:
        return self.store.related(sk.terms)

    def add_article(self, entry: Indexed, sk: Sketch) -> None:
        self.store.add(entry, sk.minhash, sk.terms)
        self._since_sweep += 1
        if self._since_sweep >= max(self.sweep_every, len(self.store) // 4):
            self.sweep()

    def sweep(self) -> int:
        """Forget everything older than the window; returns how many fingerprints and articles went."""
        self._since_sweep = 0
        cutoff = self.store.watermark - self.window_s
        old_keys = [k for k, v in self.items() if _ts_of(v) < cutoff]
        for k in old_keys:
            del self[k]
        return len(old_keys) + len(self.store.expire(cutoff))


def _state(mh: rensa.RMinHash | None) -> str | None:
    return base64.b64encode(mh.__getstate__()).decode("ascii") if mh is not None else None


def _restore(state: str | None, num_perm: int) -> rensa.RMinHash | None:
    if not state:
        return None
    mh = rensa.RMinHash(num_perm=num_perm, seed=SEED)
    mh.__setstate__(base64.b64decode(state))
    return mh


class TableDedupIndex:
    """The worker's index: everything durable lives in ``table`` (a Faust table, changelog-backed).

    Table keys: ``c:<hash>`` (canonical content) and ``u:<hash>`` (canonical URL) -> ``[id, cluster, ts]``;
    ``n:<id>`` -> ``[cluster, ts, shingles, minhash-state, terms-minhash-state]``. The LSH buckets are
    rebuilt from the ``n:`` keys when first needed and after each table recovery (``invalidate``).
    Writes and deletes happen inside the dedup agent's stream iteration (Faust sends each one to the
    changelog partition of the current event).
    """

    def __init__(self, table: Any, window_s: float = 7 * 86400.0, sweep_interval_s: float = 60.0):
        self.table = table
        self.window_s = window_s
        self.sweep_interval_s = sweep_interval_s
        self.store: SketchStore | None = None
        self._last_sweep = time.monotonic()
        self.rebuilds = 0

    # exact part ------------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.table[key] = list(value)

    # near part -------------------------------------------------------------------------------
    def invalidate(self) -> None:
        self.store = None

    def _items(self) -> Iterable[tuple[str, Any]]:
        return list(self.table.items())

    def ensure(self) -> SketchStore:
        if self.store is None:
            t0 = time.perf_counter()
            store = SketchStore()
            for key, v in self._items():
                if not isinstance(key, str) or not key.startswith(NEAR_PREFIX) or not v:
                    continue
                mh, terms = _restore(v[3], NUM_PERM), _restore(v[4], TERM_PERM)
                store.add(Indexed(key[len(NEAR_PREFIX):], v[0], float(v[1]), int(v[2]), compact(mh), compact(terms)),
                          mh, terms)
            self.store = store
            self.rebuilds += 1
            log.info("dedup index: LSH rebuilt from table %s: %d article(s) in %.3f s (rebuild #%d)",
                     getattr(self.table, "name", "?"), len(store), time.perf_counter() - t0, self.rebuilds)
        return self.store

    def near_candidates(self, sk: Sketch) -> list[Indexed]:
        return self.ensure().near(sk.minhash)

    def cluster_candidates(self, sk: Sketch) -> list[Indexed]:
        return self.ensure().related(sk.terms)

    def add_article(self, entry: Indexed, sk: Sketch) -> None:
        store = self.ensure()
        self.table[NEAR_PREFIX + entry.id] = [entry.cluster, entry.ts, entry.size, _state(sk.minhash), _state(sk.terms)]
        store.add(entry, sk.minhash, sk.terms)

    # expiry ----------------------------------------------------------------------------------
    def sweep_due(self) -> bool:
        return time.monotonic() - self._last_sweep >= self.sweep_interval_s

    def sweep(self) -> int:
        """Delete table keys older than the window (tombstones in the changelog); call it inside the
        agent's stream iteration. Returns how many keys went."""
        self._last_sweep = time.monotonic()
        store = self.ensure()
        cutoff = store.watermark - self.window_s
        gone = 0
        for key, v in self._items():
            if not v:
                continue
            ts = float(v[1]) if key.startswith(NEAR_PREFIX) else _ts_of(v)
            if ts < cutoff:
                del self.table[key]
                gone += 1
        store.expire(cutoff)
        if gone:
            log.info("dedup index: expired %d key(s) older than the window", gone)
        return gone
