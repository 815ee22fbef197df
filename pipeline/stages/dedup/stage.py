"""Dedup stage: exact copies, syndicated near-copies, and new versions of an article.

Pure and synchronous; its state sits behind a small index interface (``pipeline.stages.dedup.index``:
``MemoryDedupIndex`` in tests, ``newsflow process`` and the eval; ``TableDedupIndex`` over the worker's
changelog-backed Faust table, or over the changelog read back by an in-process replay).

0. Decided before: every decision is kept per article id (``d:<id>``). The same id coming again
   (redelivery, any replay, whatever order the records come back in) gets the decision it got the
   first time, never a new one.
1. Version: the same canonical URL as an article seen before, with changed text or a newer
   ``updated_at``: a new version of that article. It passes (to ``news.enriched``) with ``version``
   and ``version_of`` (the first version's id), ``cluster_id`` the first version's id.
2. Exact: the same canonical content (NFKC, case, punctuation, whitespace, page furniture) as an
   article seen before. Exact fingerprints are kept on *arrival* time (``retention_s``, long), not in
   the event-time window, so publish dates and the order of arrival never let a byte copy pass.
3. Near: MinHash over word 3-shingles of the canonical body; band hashes propose candidates; each
   candidate is verified on the real overlap of the two shingle sets (Jaccard, and containment of the
   smaller in the larger), not on an estimate. A duplicate when Jaccard >= ``threshold`` or
   containment >= ``containment_threshold``.

``cluster_id`` is the duplicate group: the first copy's id (its own id for an original, the original's
for a duplicate, the first version's for a version). Story clustering across outlets is not done here.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from pipeline.stages.furniture import strip_furniture
from schemas import Article, DuplicateArticle

STAGE = "dedup"
VERSION = "3"

#: MinHash over word shingles: these must not change while an index is in use (the digests stored in
#: the changelog would no longer compare); a change needs a new app id or a replay.
SHINGLE_WORDS = 3
NUM_PERM = 96
NUM_BANDS = 32
ROWS = NUM_PERM // NUM_BANDS
SEED = 1_996_0822

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_TRACKING_PARAMS = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|cmpid|ocid|smid|igshid)$", re.I)

_rng = np.random.default_rng(SEED)
#: multiply-shift hash family (odd 64-bit multipliers): h_i(x) = (A_i * x + B_i) >> 32
_A = (_rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
_B = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
_BAND_MULT = (_rng.integers(0, 2**63, (NUM_BANDS, ROWS), dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
SLOT_BITS = 24
SLOT_MASK = np.uint64((1 << SLOT_BITS) - 1)


# --------------------------------------------------------------------------------------------------
# Canonical forms
# --------------------------------------------------------------------------------------------------


def canonical_text(text: str) -> str:
    """NFKC, page furniture and boilerplate lines dropped, case-folded, punctuation and whitespace folded."""
    text = strip_furniture(unicodedata.normalize("NFKC", text))
    return " ".join(_WORD_RE.findall(text.casefold()))


def canonical_url(url: str | None) -> str | None:
    """Scheme and host lower-cased, ``www.`` and tracking parameters dropped, no fragment."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.netloc:
        return None
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING_PARAMS.match(k)))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, query, ""))


def _digest(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()[:32]


def _content(article: Article) -> str:
    return canonical_text(article.body or article.title)


def content_key(article: Article, canonical: str | None = None) -> str:
    return "c:" + _digest(_content(article) if canonical is None else canonical)


def url_key(article: Article) -> str | None:
    cu = canonical_url(article.url)
    return "u:" + _digest(cu) if cu else None


def decision_key(article_id: str) -> str:
    return "d:" + article_id


def partition_key(article: Article) -> bytes:
    """Key of ``news.parsed`` records: exact copies land on the same partition as their original."""
    return content_key(article).encode()


def event_time(article: Article) -> float:
    """Seconds since the epoch: the publish time, never later than the receive time (clock skew)."""
    rec = article.received_at.timestamp()
    if article.published_at is None:
        return rec
    return min(article.published_at.timestamp(), rec)


def arrival_time(article: Article) -> float:
    """When newsflow received the article (``received_at``, kept by replays), never more than an hour
    ahead of this machine's clock: what exact fingerprints and decisions are retained by."""
    return min(article.received_at.timestamp(), time.time() + 3600.0)


def updated_time(article: Article) -> float | None:
    up = getattr(article, "updated_at", None)
    return up.timestamp() if up is not None else None


# --------------------------------------------------------------------------------------------------
# Sketches
# --------------------------------------------------------------------------------------------------


def shingles(canonical: str, k: int = SHINGLE_WORDS) -> set[str]:
    words = canonical.split()
    if len(words) <= k:
        return {" ".join(words)} if words else set()
    if k == 3:
        return {f"{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:])}
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


_SH_MULT = (_rng.integers(0, 2**63, SHINGLE_WORDS, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)


def shingle_hashes(canonical: str) -> np.ndarray:
    """The word 3-shingles as sorted distinct 32-bit hashes: each word's CRC-32 (stable across
    processes), three in a row combined by a multiply-shift hash."""
    words = canonical.split()
    if not words:
        return np.empty(0, dtype=np.uint32)
    w = np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words))
    if w.size < SHINGLE_WORDS:
        w = np.concatenate([w, np.zeros(SHINGLE_WORDS - w.size, dtype=np.uint64)])
    n = w.size - SHINGLE_WORDS + 1
    h = w[:n] * _SH_MULT[0]
    for k in range(1, SHINGLE_WORDS):
        h = h + w[k:k + n] * _SH_MULT[k]
    return np.unique((h >> np.uint64(32)).astype(np.uint32))


def minhash(hashes: np.ndarray) -> np.ndarray:
    """``NUM_PERM`` 32-bit MinHash values of a set of 32-bit hashes."""
    x = hashes.astype(np.uint64)
    out = np.empty(NUM_PERM, dtype=np.uint32)
    for lo in range(0, NUM_PERM, 32):  # in blocks, to bound the temporary for long texts
        h = (_A[lo:lo + 32, None] * x[None, :] + _B[lo:lo + 32, None]) >> np.uint64(32)
        out[lo:lo + 32] = h.min(axis=1)
    return out


def band_bases(digest: np.ndarray) -> np.ndarray:
    """One 64-bit key per band: the band number (5 bits), a 35-bit hash of its rows, and zeros where
    an index puts the article's slot (``SLOT_BITS`` bits)."""
    rows = digest.reshape(NUM_BANDS, ROWS).astype(np.uint64)
    h = (rows * _BAND_MULT).sum(axis=1, dtype=np.uint64)
    h ^= h >> np.uint64(31)
    h *= np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    bands = np.arange(NUM_BANDS, dtype=np.uint64) << np.uint64(59)
    return bands | ((h >> np.uint64(29)) << np.uint64(SLOT_BITS))


@dataclass(frozen=True)
class Sketch:
    """What near-duplicate detection knows of an article."""

    hashes: np.ndarray  # sorted distinct shingle hashes (uint32)
    digest: np.ndarray  # NUM_PERM MinHash values (uint32); empty when there is no text

    @property
    def size(self) -> int:
        return int(self.hashes.size)

    @property
    def sig(self) -> bytes:
        return compact(self.digest)


def sketch(article: Article, canonical: str | None = None) -> Sketch:
    hashes = shingle_hashes(_content(article) if canonical is None else canonical)
    return Sketch(hashes, minhash(hashes) if hashes.size else np.empty(0, dtype=np.uint32))


def compact(digest: np.ndarray | None) -> bytes:
    """The low 16 bits of each MinHash value: 2 bytes a permutation, enough to rank candidates."""
    if digest is None or not len(digest):
        return b""
    return np.asarray(digest, dtype=np.uint32).astype(np.uint16).tobytes()


def estimate_jaccard(a: bytes, b: bytes) -> float:
    """Share of agreeing 16-bit MinHash values, corrected for chance agreement (a pre-filter only)."""
    if not a or len(a) != len(b):
        return 0.0
    p = int(np.count_nonzero(np.frombuffer(a, dtype=np.uint16) == np.frombuffer(b, dtype=np.uint16))) / (len(a) // 2)
    chance = 1 / 65536
    return max(0.0, (p - chance) / (1 - chance))


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Jaccard, containment of the smaller set in the larger) of two sorted distinct hash arrays."""
    if not a.size or not b.size:
        return 0.0, 0.0
    inter = int(np.intersect1d(a, b, assume_unique=True).size)
    return inter / (a.size + b.size - inter), inter / min(a.size, b.size)


# --------------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------------


class DedupIndex(Protocol):
    """What exact copies, versions and decisions need: a mapping from a key (``c:``/``u:`` fingerprint,
    ``d:`` decision) to a list whose third item is the arrival time it is retained by."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...


@dataclass(slots=True)
class Indexed:
    """An article as the near index remembers it."""

    id: str
    cluster: str
    ts: float  # event time
    size: int  # distinct shingles
    sig: bytes
    arrived: float = 0.0


@runtime_checkable
class NearIndex(Protocol):
    """What near-duplicates need on top (``pipeline.stages.dedup.index`` implements it)."""

    def near_candidates(self, sk: Sketch) -> list[Indexed]: ...

    def shingles_of(self, article_id: str) -> np.ndarray | None: ...

    def add_article(self, entry: Indexed, sk: Sketch) -> None: ...


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = 0.5  # near-duplicate: Jaccard of word 3-shingles, counted exactly
    containment_threshold: float = 0.8  # or: share of the smaller text's shingles found in the other
    min_shingles: int = 8  # fewer distinct shingles than this (after furniture): exact copies only
    min_contained_shingles: int = 25  # containment needs at least this much text on the smaller side
    window_s: float = 7 * 86400.0  # near-copies: event-time window (and how long the near index keeps them)
    retention_s: float = 90 * 86400.0  # exact fingerprints and decisions: kept this long after arrival
    max_verified: int = 8  # candidates verified exactly, best estimates first
    cluster_threshold: float = 0.4  # unused here: story clustering is its own stage (kept for settings)


@dataclass(frozen=True)
class DedupResult:
    article: Article | DuplicateArticle
    is_duplicate: bool


def _first(value: Any) -> tuple[str, str, float, str | None, float] | None:
    """A fingerprint value as (id, cluster, arrived, near_of, similarity). ``near_of`` is set only in
    entries written by dedup version 2 (a near-copy's text); dicts are older entries still."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value["id"], value.get("cluster") or value["id"], float(value.get("ts", 0.0)), None, 1.0
    if len(value) >= 5 and isinstance(value[3], str):
        return value[0], value[1], float(value[2]), value[3], float(value[4])
    return value[0], value[1], float(value[2]), None, 1.0


def _near_reason(of: str, sim: float, cont: float | None) -> str:
    if cont is None:
        return f"near-duplicate of {of}: estimated Jaccard {sim:.2f} of word {SHINGLE_WORDS}-shingles"
    return (f"near-duplicate of {of}: Jaccard {sim:.2f}, containment {cont:.2f} of word "
            f"{SHINGLE_WORDS}-shingles (counted on the texts)")


def _reason(kind: str, of: str, sim: float | None, cont: float | None) -> str:
    if kind == "near":
        return _near_reason(of, sim or 0.0, cont)
    return f"{'same canonical content' if kind == 'exact' else 'same canonical URL'} as {of}"


def _duplicate(article: Article, of: str, cluster: str, kind: str, similarity: float, reason: str) -> DuplicateArticle:
    return DuplicateArticle(
        **article.model_dump(exclude={"duplicate_of", "similarity", "cluster_id", "version", "version_of"}),
        duplicate_of=of, similarity=round(similarity, 4), cluster_id=cluster, duplicate_kind=kind, reason=reason,
    )


def _passed(article: Article, cluster: str, version: int | None, version_of: str | None) -> Article:
    return article.model_copy(update={"cluster_id": cluster, "duplicate_of": None, "similarity": None,
                                      "version": version, "version_of": version_of})


def replay_decision(article: Article, d: list) -> DedupResult:
    """The result of a decision kept as ``d:<id>``: [kind, of, arrived, cluster, similarity,
    containment, version, version_of]."""
    kind, of, _, cluster = d[0], d[1], d[2], d[3]
    if kind == "pass":
        return DedupResult(_passed(article, cluster, d[6], d[7]), False)
    sim = 1.0 if d[4] is None else float(d[4])
    cont = None if d[5] is None else float(d[5])
    return DedupResult(_duplicate(article, of, cluster, kind, sim, _reason(kind, of, sim, cont)), True)


def dedup(article: Article, index: DedupIndex, config: DedupConfig | None = None, *,
          now: datetime | None = None) -> DedupResult:
    """Decide whether ``article`` is a copy of one in ``index``, or a new version; remember the decision.

    ``now`` is unused (kept for callers of the first version): the near-copy window is measured in
    event time, retention in arrival time, both from the article itself.
    """
    cfg = config or DedupConfig()
    dk = decision_key(article.id)
    kept = index.get(dk)
    if kept:
        return replay_decision(article, list(kept))
    arrived = arrival_time(article)
    res, decision = _decide(article, index, cfg, arrived)
    index[dk] = decision
    return res


def _live(value: Any, arrived: float, cfg: DedupConfig) -> tuple | None:
    first = _first(value)
    if first is None or first[2] < arrived - cfg.retention_s:
        return None
    return first


def _decide(article: Article, index: DedupIndex, cfg: DedupConfig, arrived: float) -> tuple[DedupResult, list]:
    ts = event_time(article)
    canon = _content(article)
    ck = content_key(article, canon)
    uk = url_key(article)
    c = _live(index.get(ck), arrived, cfg)
    u_raw = index.get(uk) if uk else None
    u = _live(u_raw, arrived, cfg)
    upd = updated_time(article)

    # 1. a new version of an article seen at this URL: changed text, or a newer updated_at
    if u is not None and u[0] != article.id:
        u_version = int(u_raw[3]) if isinstance(u_raw, list) and len(u_raw) >= 5 and isinstance(u_raw[3], int) else 1
        u_updated = u_raw[4] if isinstance(u_raw, list) and len(u_raw) >= 5 and isinstance(u_raw[3], int) else None
        newer = upd is not None and (u_updated is None or upd > float(u_updated))
        if c is None or newer:
            first_id, version = u[1], u_version + 1
            index[uk] = [article.id, first_id, arrived, version, upd]
            if c is None:
                index[ck] = [article.id, first_id, arrived]
            _index_near(article, index, cfg, canon, first_id, ts, arrived)
            return (DedupResult(_passed(article, first_id, version, first_id), False),
                    ["pass", None, arrived, first_id, None, None, version, first_id])

    # 2. exact copy (content); the article itself again without a kept decision (older index entries)
    for kind, hit in (("exact", c), ("url", u)):
        if hit is None:
            continue
        if hit[0] == article.id:
            if hit[3]:  # dedup version 2 kept a near-copy's decision in its content key
                res = DedupResult(_duplicate(article, hit[3], hit[1], "near", hit[4], _near_reason(hit[3], hit[4], None)), True)
                return res, ["near", hit[3], arrived, hit[1], hit[4], None, None, None]
            return (DedupResult(_passed(article, hit[1], None, None), False),
                    ["pass", None, arrived, hit[1], None, None, None, None])
        res = DedupResult(_duplicate(article, hit[0], hit[1], kind, 1.0, _reason(kind, hit[0], None, None)), True)
        return res, [kind, hit[0], arrived, hit[1], None, None, None, None]

    # 3. near copy, verified on the real overlap
    sk: Sketch | None = None
    if hasattr(index, "near_candidates"):
        sk = sketch(article, canon)
        if sk.size >= cfg.min_shingles:
            best = _best_near(article, sk, index, cfg, ts)
            if best is not None:
                cand, sim, cont = best
                index[ck] = [article.id, cand.cluster, arrived]  # a later exact copy of it points at it
                reason = _near_reason(cand.id, sim, cont)
                return (DedupResult(_duplicate(article, cand.id, cand.cluster, "near", sim, reason), True),
                        ["near", cand.id, arrived, cand.cluster, round(sim, 4),
                         None if cont is None else round(cont, 4), None, None])

    # 4. passes: its own duplicate group, version 1
    index[ck] = [article.id, article.id, arrived]
    if uk:
        index[uk] = [article.id, article.id, arrived, 1, upd]
    if sk is not None and sk.size >= cfg.min_shingles:
        index.add_article(Indexed(article.id, article.id, ts, sk.size, sk.sig, arrived), sk)  # type: ignore[attr-defined]
    return (DedupResult(_passed(article, article.id, 1, None), False),
            ["pass", None, arrived, article.id, None, None, 1, None])


def _index_near(article: Article, index: Any, cfg: DedupConfig, canon: str, cluster: str, ts: float,
                arrived: float) -> None:
    if hasattr(index, "near_candidates"):
        sk = sketch(article, canon)
        if sk.size >= cfg.min_shingles:
            index.add_article(Indexed(article.id, cluster, ts, sk.size, sk.sig, arrived), sk)


def _best_near(article: Article, sk: Sketch, index: Any, cfg: DedupConfig,
               ts: float) -> tuple[Indexed, float, float | None] | None:
    oldest = ts - cfg.window_s
    sig = sk.sig
    ranked = []
    for cand in index.near_candidates(sk):
        if cand.id == article.id or cand.ts < oldest:
            continue
        est = estimate_jaccard(sig, cand.sig)
        small, large = sorted((sk.size, cand.size))
        est_cont = est * (small + large) / ((1 + est) * small) if small else 0.0
        if est >= cfg.threshold - 0.2 or est_cont >= cfg.containment_threshold - 0.25:
            ranked.append((max(est, est_cont), -cand.ts, cand))
    ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
    best: tuple[Indexed, float, float | None] | None = None
    for _, _, cand in ranked[: cfg.max_verified]:
        other = index.shingles_of(cand.id)
        if other is None:  # the exact shingles are gone: the estimate decides (and the reason says so)
            sim, cont = estimate_jaccard(sig, cand.sig), None
            ok = sim >= cfg.threshold
        else:
            sim, cont = overlap(sk.hashes, other)
            ok = sim >= cfg.threshold or (cont >= cfg.containment_threshold
                                          and min(sk.size, other.size) >= cfg.min_contained_shingles)
        if ok and (best is None or (sim, cont or 0.0) > (best[1], best[2] or 0.0)
                   or ((sim, cont or 0.0) == (best[1], best[2] or 0.0) and cand.ts < best[0].ts)):
            best = (cand, sim, cont)
    return best
