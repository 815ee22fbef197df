"""Dedup stage: exact copies, syndicated near-copies, and story clusters.

Pure and synchronous; its state sits behind a ``DedupIndex`` (``pipeline.stages.dedup.index``: a dict-backed
``MemoryDedupIndex`` in tests and in ``newsflow process``, a changelog-backed Faust table in the worker).

1. Exact: same canonical content (NFKC, case, punctuation, whitespace, boilerplate lines) or same
   canonical URL (tracking parameters dropped) as an article still in the window.
2. Near: MinHash (rensa) over word 3-shingles of the canonical body; LSH gives candidates, each is
   verified by its estimated Jaccard similarity (from the stored signature) before the decision
   ``similarity >= threshold``.
3. Cluster: an article that is not a duplicate joins the story cluster of an earlier article whose
   *key terms* (capitalised words and numbers: names, places, scores) overlap enough, else it starts
   its own cluster. Independently written reports of one event share names and numbers, not text, so
   they land in one cluster while passing as distinct articles.

A redelivered or replayed article keeps its id, and the index remembers which id came first, so the
same article coming again is passed on (downstream upserts it), never reported as its own duplicate.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import rensa

from schemas import Article, DuplicateArticle

STAGE = "dedup"
VERSION = "2"

#: MinHash over word shingles: these three must not change while an index is in use (the signatures
#: stored in the changelog would no longer compare); a change needs a new app id or a replay.
SHINGLE_WORDS = 3
NUM_PERM = 96
NUM_BANDS = 32
TERM_PERM = 32
TERM_BANDS = 16
SEED = 1_996_0822

#: a line that is boilerplate as a whole (bylines, sign-offs, agency and newsletter lines, at most 200
#: characters after the opening words)
_BOILERPLATE_RE = re.compile(
    r"^[ \t]*(?:\(?(?:reporting|writing|editing|additional reporting|compiled|edited|written) by\b|"
    r"(?:click|sign up|subscribe|follow us|read more|related:|advertisement\b)|"
    r"copyright\b|©|all rights reserved|"
    r"--\s[^\n]{0,80}(?:newsroom|desk)\b|our standards:|"
    r"this (?:story|article) (?:has been|was) (?:corrected|updated|refiled)|"
    r"\((?:updates|adds|recasts|corrects)\b[^)\n]*\)[ \t]*$)[^\n]{0,200}$",
    re.I | re.M,
)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_TRACKING_PARAMS = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|cmpid|ocid|smid|igshid)$", re.I)
_TERM_RE = re.compile(r"\b[A-Z][\w'’-]*\w|\b\d+(?:[-:.,/]\d+)*")
_DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d$|^\d{1,2}$")
_TERM_STOP = frozenset(
    "the a an in on at to of for and but or he she it its they we i you his her their this that these those "
    "there when while after before as by with from not no if one two three mr mrs ms dr monday tuesday "
    "wednesday thursday friday saturday sunday january february march april may june july august september "
    "october november december reuters said says".split()
)


# --------------------------------------------------------------------------------------------------
# Canonical forms
# --------------------------------------------------------------------------------------------------


def canonical_text(text: str) -> str:
    """NFKC, case-folded, boilerplate lines dropped, punctuation and whitespace folded."""
    text = unicodedata.normalize("NFKC", text)
    text = _BOILERPLATE_RE.sub(" ", text)
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


def partition_key(article: Article) -> bytes:
    """Key of ``news.parsed`` records: exact copies land on the same partition as their original."""
    return content_key(article).encode()


def event_time(article: Article) -> float:
    """Seconds since the epoch: the publish time, never later than the receive time (clock skew)."""
    rec = article.received_at.timestamp()
    if article.published_at is None:
        return rec
    return min(article.published_at.timestamp(), rec)


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


def key_terms(article: Article) -> set[str]:
    """Capitalised words and numbers of title and body (names, places, scores), minus common words."""
    text = unicodedata.normalize("NFKC", f"{article.title}\n{article.body}")
    found = {t.casefold() for t in set(_TERM_RE.findall(text))}
    return {t for t in found if t not in _TERM_STOP and not _DATE_RE.match(t)}


@dataclass(frozen=True)
class Sketch:
    """What near-duplicate and cluster detection know of an article."""

    minhash: rensa.RMinHash | None
    size: int  # distinct shingles
    terms: rensa.RMinHash | None
    n_terms: int

    @property
    def sig(self) -> bytes:
        return compact(self.minhash)

    @property
    def term_sig(self) -> bytes:
        return compact(self.terms)


def _minhash(tokens: set[str], num_perm: int) -> rensa.RMinHash:
    mh = rensa.RMinHash(num_perm=num_perm, seed=SEED)
    mh.update(list(tokens))
    return mh


def sketch(article: Article, canonical: str | None = None) -> Sketch:
    sh = shingles(_content(article) if canonical is None else canonical)
    terms = key_terms(article)
    return Sketch(
        _minhash(sh, NUM_PERM) if sh else None, len(sh),
        _minhash(terms, TERM_PERM) if terms else None, len(terms),
    )


def compact(mh: rensa.RMinHash | None) -> bytes:
    """The low 16 bits of each MinHash value: 2 bytes a permutation, enough to estimate Jaccard
    (two unrelated values agree by chance with probability 2^-16)."""
    if mh is None:
        return b""
    return np.asarray(mh.digest(), dtype=np.uint32).astype(np.uint16).tobytes()


def estimate_jaccard(a: bytes, b: bytes) -> float:
    """Share of agreeing 16-bit MinHash values, corrected for chance agreement."""
    if not a or len(a) != len(b):
        return 0.0
    p = int(np.count_nonzero(np.frombuffer(a, dtype=np.uint16) == np.frombuffer(b, dtype=np.uint16))) / (len(a) // 2)
    chance = 1 / 65536
    return max(0.0, (p - chance) / (1 - chance))


# --------------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------------


class DedupIndex(Protocol):
    """What the exact part needs: a mapping from a fingerprint to ``(id, cluster, ts)`` of the first copy."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...


@dataclass(slots=True)
class Indexed:
    """An article as the near index remembers it."""

    id: str
    cluster: str
    ts: float
    size: int
    sig: bytes
    term_sig: bytes


@runtime_checkable
class NearIndex(Protocol):
    """What near-duplicates and clusters need on top (``pipeline.stages.dedup.index`` implements it)."""

    def near_candidates(self, sk: Sketch) -> list[Indexed]: ...

    def cluster_candidates(self, sk: Sketch) -> list[Indexed]: ...

    def add_article(self, entry: Indexed, sk: Sketch) -> None: ...


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = 0.55  # near-duplicate: estimated Jaccard of word 3-shingles
    cluster_threshold: float = 0.4  # same story cluster: estimated Jaccard of key terms
    window_s: float = 7 * 86400.0
    min_terms: int = 4  # fewer key terms than this: no cluster joined (too little evidence)


@dataclass(frozen=True)
class DedupResult:
    article: Article | DuplicateArticle
    is_duplicate: bool


def _first(value: Any) -> tuple[str, str, float, str | None, float] | None:
    """An exact-index value as (id, cluster, ts, near_of, similarity): ``near_of`` is set when the
    text first came as a near-duplicate of ``near_of``. Dicts (older entries), lists (JSON) or tuples."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value["id"], value.get("cluster") or value["id"], float(value.get("ts", 0.0)), None, 1.0
    if len(value) >= 5:
        return value[0], value[1], float(value[2]), value[3], float(value[4])
    return value[0], value[1], float(value[2]), None, 1.0


def _duplicate(article: Article, of: str, cluster: str, kind: str, similarity: float, reason: str) -> DuplicateArticle:
    return DuplicateArticle(
        **article.model_dump(exclude={"duplicate_of", "similarity", "cluster_id"}),
        duplicate_of=of, similarity=round(similarity, 4), cluster_id=cluster, duplicate_kind=kind, reason=reason,
    )


def dedup(article: Article, index: DedupIndex, config: DedupConfig | None = None, *,
          now: datetime | None = None) -> DedupResult:
    """Decide whether ``article`` is a copy of one in ``index``; remember it when it is not.

    ``now`` is unused (kept for callers of the first version): the window is measured in event time,
    from the article's own publish/receive time, so a replay of old data decides as the live run did.
    """
    cfg = config or DedupConfig()
    ts = event_time(article)
    oldest = ts - cfg.window_s
    canon = _content(article)
    keys = [("exact", content_key(article, canon))]
    if uk := url_key(article):
        keys.append(("url", uk))
    for kind, key in keys:
        first = _first(index.get(key))
        if first is None or first[2] < oldest:
            continue
        if first[0] == article.id:  # redelivery or replay of the article itself: the same decision
            if first[3]:
                reason = f"near-duplicate of {first[3]}: estimated Jaccard {first[4]:.2f} of word {SHINGLE_WORDS}-shingles"
                return DedupResult(_duplicate(article, first[3], first[1], "near", first[4], reason), True)
            return DedupResult(article.model_copy(update={"cluster_id": first[1], "duplicate_of": None}), False)
        what = "same canonical content" if kind == "exact" else "same canonical URL"
        return DedupResult(_duplicate(article, first[0], first[1], kind, 1.0, f"{what} as {first[0]}"), True)

    cluster = article.id
    sk: Sketch | None = None
    if hasattr(index, "near_candidates"):  # a NearIndex (a plain dict: exact copies only)
        sk = sketch(article, canon)
        sig = sk.sig
        best: Indexed | None = None
        best_sim = 0.0
        if sig:
            for cand in index.near_candidates(sk):
                if cand.id == article.id or cand.ts < oldest:
                    continue
                sim = estimate_jaccard(sig, cand.sig)
                if sim > best_sim or (sim == best_sim and best is not None and cand.ts < best.ts):
                    best, best_sim = cand, sim
        if best is not None and best_sim >= cfg.threshold:
            reason = f"near-duplicate of {best.id}: estimated Jaccard {best_sim:.2f} of word {SHINGLE_WORDS}-shingles"
            # its exact text is remembered (not its sketch): a later exact copy of it points at it,
            # and a redelivery of it gets the same decision again
            index[keys[0][1]] = (article.id, best.cluster, ts, best.id, round(best_sim, 4))
            return DedupResult(_duplicate(article, best.id, best.cluster, "near", best_sim, reason), True)
        tsig = sk.term_sig
        if tsig and sk.n_terms >= cfg.min_terms:
            best_c, best_c_sim = None, 0.0
            for cand in index.cluster_candidates(sk):
                if cand.id == article.id or cand.ts < oldest:
                    continue
                sim = estimate_jaccard(tsig, cand.term_sig)
                if sim > best_c_sim:
                    best_c, best_c_sim = cand, sim
            if best_c is not None and best_c_sim >= cfg.cluster_threshold:
                cluster = best_c.cluster

    entry = (article.id, cluster, ts)
    for _, key in keys:
        if _first(index.get(key)) is None or _first(index.get(key))[2] < oldest:
            index[key] = entry
    if sk is not None:
        index.add_article(Indexed(article.id, cluster, ts, sk.size, sk.sig, sk.term_sig), sk)  # type: ignore[union-attr]
    return DedupResult(article.model_copy(update={"cluster_id": cluster, "duplicate_of": None}), False)
