"""The dedup stage's state: decisions, exact fingerprints, the near-copy index, and expiry.

Two implementations of what ``pipeline.stages.dedup.stage`` needs (``DedupIndex`` + ``NearIndex``):

- ``MemoryDedupIndex``: a dict (decisions ``d:<id>``, fingerprints ``c:``/``u:``) with an in-memory
  ``NearStore`` and the shingle hashes that verify a candidate; used by tests, ``newsflow process``
  and ``newsflow eval dedup``. Expiry runs as the index grows.
- ``TableDedupIndex``: a Faust table (changelog-backed) holding every decision, fingerprint and
  near-copy entry (MinHash digest and shingle hashes); the ``NearStore`` is derived from the table,
  rebuilt from it on first use and after every recovery, never stored itself. An in-process replay
  builds one over the changelog it read back, so it decides as the workers did.

Retention. Decisions and exact fingerprints are kept ``retention_s`` (90 days) after their *arrival*
(``received_at``); near-copy entries ``window_s`` (7 days) after arrival. "Now" is the newest arrival
seen, so a publish date far in the past or the future never expires anything.

The ``NearStore`` is compact on purpose (issue 22: at most 600 bytes an article): one sorted
``uint64`` array of band keys (band number, 35-bit band hash, 24-bit slot: 8 bytes a band, 32 bands)
fed from a small insert buffer, and per slot a 16-bit signature (2 bytes a permutation), the id
(32 bytes), event and arrival time and size. No Python object per article.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any, Iterable

import numpy as np

from pipeline.stages.dedup.stage import NUM_BANDS, NUM_PERM, SLOT_BITS, SLOT_MASK, Indexed, Sketch, band_bases, compact

log = logging.getLogger("newsflow.dedup")

NEAR_PREFIX = "n:"
MAX_SLOTS = 1 << SLOT_BITS
ID_BYTES = 32


class NearStore:
    """Band-hash LSH over MinHash digests, with what ranks a candidate. Derived state: it can always be
    rebuilt from the articles' digests."""

    def __init__(self, capacity: int = 1024) -> None:
        self.keys = np.empty(0, dtype=np.uint64)  # sorted: band << 59 | hash35 << 24 | slot
        self._buf = np.empty((256, NUM_BANDS), dtype=np.uint64)  # band keys not merged yet (slot included)
        self._nbuf = 0
        self.ids = np.zeros(capacity, dtype=f"S{ID_BYTES}")
        self.ts = np.zeros(capacity, dtype=np.int64)  # event time, seconds
        self.arrived = np.zeros(capacity, dtype=np.int64)
        self.size = np.zeros(capacity, dtype=np.uint32)
        self.sig = np.zeros((capacity, NUM_PERM), dtype=np.uint16)
        self.alive = np.zeros(capacity, dtype=bool)
        self.cluster_of: dict[int, str] = {}  # only where the group is not the article itself (versions)
        self.long_ids: dict[int, str] = {}  # ids longer than ID_BYTES (not newsflow's own)
        self.n = 0  # slots used
        self.live = 0
        self.clock = 0.0  # newest arrival seen

    def __len__(self) -> int:
        return self.live

    def nbytes(self) -> int:
        """Bytes held by the arrays (capacity included) and the small dicts."""
        arrays = (self.keys, self._buf, self.ids, self.ts, self.arrived, self.size, self.sig, self.alive)
        return sum(a.nbytes for a in arrays) + 100 * (len(self.cluster_of) + len(self.long_ids))

    def _grow(self) -> None:
        cap = self.ids.shape[0]
        new = int(cap * 1.25) + 1024
        for name in ("ids", "ts", "arrived", "size", "sig", "alive"):
            old = getattr(self, name)
            arr = np.zeros((new,) + old.shape[1:], dtype=old.dtype)
            arr[:cap] = old
            setattr(self, name, arr)

    def add(self, entry: Indexed, digest: np.ndarray) -> None:
        if not len(digest):
            return
        if self.n >= MAX_SLOTS:
            self.compact(force=True)
            if self.n >= MAX_SLOTS:
                raise RuntimeError(f"dedup near index full ({MAX_SLOTS} articles in the window)")
        if self.n >= self.ids.shape[0]:
            self._grow()
        slot = self.n
        self.n += 1
        raw = entry.id.encode("utf-8")
        if len(raw) > ID_BYTES:
            self.long_ids[slot] = entry.id
        self.ids[slot] = raw[:ID_BYTES]
        self.ts[slot] = int(entry.ts)
        self.arrived[slot] = int(entry.arrived)
        self.size[slot] = entry.size
        self.sig[slot] = np.asarray(digest, dtype=np.uint32).astype(np.uint16)
        self.alive[slot] = True
        if entry.cluster != entry.id:
            self.cluster_of[slot] = entry.cluster
        self.live += 1
        self.clock = max(self.clock, entry.arrived)
        if self._nbuf >= self._buf.shape[0]:
            if self._nbuf >= max(4096, self.live // 8):
                self._merge()
            else:
                buf = np.empty((self._buf.shape[0] * 2, NUM_BANDS), dtype=np.uint64)
                buf[: self._nbuf] = self._buf[: self._nbuf]
                self._buf = buf
        self._buf[self._nbuf] = band_bases(digest) | np.uint64(slot)
        self._nbuf += 1

    def _merge(self) -> None:
        if self._nbuf:
            self.keys = np.sort(np.concatenate([self.keys, self._buf[: self._nbuf].ravel()]))
            self._nbuf = 0
        if self._buf.shape[0] > 256:
            self._buf = np.empty((256, NUM_BANDS), dtype=np.uint64)

    def _id(self, slot: int) -> str:
        return self.long_ids.get(slot) or self.ids[slot].decode("utf-8")

    def entry(self, slot: int) -> Indexed:
        aid = self._id(slot)
        return Indexed(aid, self.cluster_of.get(slot, aid), float(self.ts[slot]), int(self.size[slot]),
                       self.sig[slot].tobytes(), float(self.arrived[slot]))

    def near(self, digest: np.ndarray) -> list[Indexed]:
        if not len(digest) or not self.live:
            return []
        bases = band_bases(digest)
        found: list[np.ndarray] = []
        if self.keys.size:
            lo = np.searchsorted(self.keys, bases, side="left")
            hi = np.searchsorted(self.keys, bases | SLOT_MASK, side="right")
            found += [self.keys[a:b] for a, b in zip(lo.tolist(), hi.tolist()) if b > a]
        if self._nbuf:
            buf = self._buf[: self._nbuf]
            hit = (buf & ~SLOT_MASK) == bases[None, :]
            rows = np.nonzero(hit.any(axis=1))[0]
            if rows.size:
                found.append(buf[rows, 0])
        if not found:
            return []
        slots = np.unique((np.concatenate(found) & SLOT_MASK).astype(np.int64))
        slots = slots[self.alive[slots]]
        return [self.entry(int(s)) for s in slots]

    def expire(self, before: float) -> list[str]:
        """Forget what arrived before ``before``; returns the ids that went."""
        old = np.nonzero(self.alive[: self.n] & (self.arrived[: self.n] < before))[0]
        if not old.size:
            return []
        ids = [self._id(int(s)) for s in old]
        self.alive[old] = False
        for s in old.tolist():
            self.cluster_of.pop(s, None)
            self.long_ids.pop(s, None)
        self.live -= int(old.size)
        self.compact()
        return ids

    def compact(self, force: bool = False) -> None:
        """Drop the band keys of forgotten slots and number the live slots again from 0, when at least
        a quarter of the slots are dead (or ``force``)."""
        dead = self.n - self.live
        if not dead or (not force and dead * 4 < self.n):
            return
        self._merge()
        live = np.nonzero(self.alive[: self.n])[0]
        remap = np.full(self.n, -1, dtype=np.int64)
        remap[live] = np.arange(live.size)
        slots = (self.keys & SLOT_MASK).astype(np.int64)
        keep = self.alive[slots]
        keys, slots = self.keys[keep], slots[keep]
        # the new numbering keeps the order of slots, so the keys stay sorted
        self.keys = (keys & ~SLOT_MASK) | remap[slots].astype(np.uint64)
        for name in ("ids", "ts", "arrived", "size", "sig", "alive"):
            arr = getattr(self, name)
            fresh = np.zeros_like(arr)
            fresh[: live.size] = arr[live]
            setattr(self, name, fresh)
        self.cluster_of = {int(remap[s]): c for s, c in self.cluster_of.items() if remap[s] >= 0}
        self.long_ids = {int(remap[s]): i for s, i in self.long_ids.items() if remap[s] >= 0}
        self.n = int(live.size)


def _arrived_of(value: Any) -> float:
    if isinstance(value, dict):
        return float(value.get("ts", 0.0))
    return float(value[2])


class MemoryDedupIndex(dict):
    """Decisions and exact fingerprints in the dict itself; near-copies in a ``NearStore``, with the
    shingle hashes of each (``shingles``) that verify a candidate exactly.

    A sweep runs after every ``max(sweep_every, len/4)`` insertions (amortised O(1) per article);
    between sweeps the stage ignores expired entries itself.
    """

    def __init__(self, window_s: float = 7 * 86400.0, sweep_every: int = 1000, retention_s: float = 90 * 86400.0):
        super().__init__()
        self.window_s = window_s
        self.retention_s = retention_s
        self.sweep_every = sweep_every
        self.store = NearStore()
        self.shingles: dict[str, bytes] = {}
        self.clock = 0.0
        self._since_sweep = 0

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if key.startswith("d:"):
            self.clock = max(self.clock, _arrived_of(value))

    def near_candidates(self, sk: Sketch) -> list[Indexed]:
        return self.store.near(sk.digest)

    def shingles_of(self, article_id: str) -> np.ndarray | None:
        raw = self.shingles.get(article_id)
        return None if raw is None else np.frombuffer(raw, dtype=np.uint32)

    def add_article(self, entry: Indexed, sk: Sketch) -> None:
        self.store.add(entry, sk.digest)
        self.shingles[entry.id] = sk.hashes.tobytes()
        self._since_sweep += 1
        if self._since_sweep >= max(self.sweep_every, len(self.store) // 4):
            self.sweep()

    def sweep(self) -> int:
        """Forget decisions and fingerprints past their retention and near entries past the window
        (both after arrival); returns how many keys and articles went."""
        self._since_sweep = 0
        clock = max(self.clock, self.store.clock)
        old_keys = [k for k, v in self.items() if _arrived_of(v) < clock - self.retention_s]
        for k in old_keys:
            del self[k]
        gone = self.store.expire(clock - self.window_s)
        for aid in gone:
            self.shingles.pop(aid, None)
        return len(old_keys) + len(gone)


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(a.tobytes()).decode("ascii")


def _unb64(s: str, dtype=np.uint32) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=dtype)


class TableDedupIndex:
    """The worker's index: everything durable lives in ``table`` (a Faust table, changelog-backed; or
    a dict read back from that changelog by an in-process replay).

    Table keys: ``d:<id>`` -> the decision (``[kind, of, arrived, cluster, similarity, containment,
    version, version_of]``); ``c:<hash>`` (canonical content) -> ``[id, cluster, arrived]``;
    ``u:<hash>`` (canonical URL) -> ``[latest id, first id, arrived, version, updated_at]``;
    ``n:<id>`` -> ``[cluster, ts, size, arrived, MinHash digest (base64), shingle hashes (base64)]``.
    The ``NearStore`` is rebuilt from the ``n:`` keys when first needed and after each table recovery
    (``invalidate``). Writes and deletes happen inside the dedup agent's stream iteration (Faust sends
    each one to the changelog partition of the current event).
    """

    def __init__(self, table: Any, window_s: float = 7 * 86400.0, sweep_interval_s: float = 60.0,
                 retention_s: float = 90 * 86400.0):
        self.table = table
        self.window_s = window_s
        self.retention_s = retention_s
        self.sweep_interval_s = sweep_interval_s
        self.store: NearStore | None = None
        self._last_sweep = time.monotonic()
        self.rebuilds = 0
        self.clock = 0.0

    # decisions and exact part -----------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.table[key] = list(value)
        if key.startswith("d:"):
            self.clock = max(self.clock, _arrived_of(value))

    # near part -------------------------------------------------------------------------------
    def invalidate(self) -> None:
        self.store = None

    def _items(self) -> Iterable[tuple[str, Any]]:
        return list(self.table.items())

    def ensure(self) -> NearStore:
        if self.store is None:
            t0 = time.perf_counter()
            store = NearStore()
            skipped = 0
            for key, v in self._items():
                if not isinstance(key, str) or not v:
                    continue
                if key.startswith("d:"):
                    self.clock = max(self.clock, _arrived_of(v))
                if not key.startswith(NEAR_PREFIX):
                    continue
                if len(v) != 6:  # written by dedup version 2 (rensa state): no digest to restore
                    skipped += 1
                    continue
                digest = _unb64(v[4])
                aid = key[len(NEAR_PREFIX):]
                store.add(Indexed(aid, v[0], float(v[1]), int(v[2]), compact(digest), float(v[3])), digest)
            self.store = store
            self.rebuilds += 1
            log.info("dedup index: near index rebuilt from table %s: %d article(s) in %.3f s (rebuild #%d%s)",
                     getattr(self.table, "name", "?"), len(store), time.perf_counter() - t0, self.rebuilds,
                     f"; {skipped} entries of an older dedup version left out" if skipped else "")
        return self.store

    def near_candidates(self, sk: Sketch) -> list[Indexed]:
        return self.ensure().near(sk.digest)

    def shingles_of(self, article_id: str) -> np.ndarray | None:
        v = self.table.get(NEAR_PREFIX + article_id)
        if not v or len(v) != 6 or not v[5]:
            return None
        return _unb64(v[5])

    def add_article(self, entry: Indexed, sk: Sketch) -> None:
        store = self.ensure()
        self.table[NEAR_PREFIX + entry.id] = [entry.cluster, entry.ts, entry.size, entry.arrived,
                                              _b64(sk.digest), _b64(sk.hashes)]
        store.add(entry, sk.digest)

    # expiry ----------------------------------------------------------------------------------
    def sweep_due(self) -> bool:
        return time.monotonic() - self._last_sweep >= self.sweep_interval_s

    def sweep(self) -> int:
        """Delete table keys past their retention (decisions, fingerprints) or the window (near
        entries), both after arrival (tombstones in the changelog); call it inside the agent's stream
        iteration. Returns how many keys went."""
        self._last_sweep = time.monotonic()
        store = self.ensure()
        clock = max(self.clock, store.clock)
        if not clock:
            return 0
        gone = 0
        for key, v in self._items():
            if not v or not isinstance(key, str):
                continue
            if key.startswith(NEAR_PREFIX):
                arrived = float(v[3]) if len(v) == 6 else float(v[1])
                old = arrived < clock - self.window_s
            else:
                old = _arrived_of(v) < clock - self.retention_s
            if old:
                del self.table[key]
                gone += 1
        store.expire(clock - self.window_s)
        if gone:
            log.info("dedup index: expired %d key(s) past their retention", gone)
        return gone
