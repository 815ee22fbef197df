"""Dedup stage: recognize an article seen before, by canonical content and canonical URL.

Pure and synchronous; its state sits behind ``DedupIndex`` (a plain dict in tests and in
``newsflow process``, a changelog-backed Faust table in the worker).

A redelivered or replayed article keeps its id, and the index remembers which id came first, so the
same article coming again is passed on (downstream upserts it), never reported as its own duplicate.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from schemas import Article, DuplicateArticle

STAGE = "dedup"
VERSION = "1"

_BOILERPLATE_RE = re.compile(
    r"^\s*(?:\(?(?:reporting|writing|editing|additional reporting) by\b.*|"
    r"(?:click|sign up|subscribe) (?:here|to|for)\b.*|copyright\b.*|©.*|all rights reserved.*)$",
    re.I | re.M,
)
_NON_WORD_RE = re.compile(r"[\W_]+", re.UNICODE)
_TRACKING_PARAMS = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|cmpid|ocid|smid|igshid)$", re.I)


class DedupIndex(Protocol):
    """What the dedup stage needs of its state: a mapping from a fingerprint to the first copy."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...


def canonical_text(text: str) -> str:
    """NFKC, case-folded, boilerplate lines dropped, punctuation and whitespace folded."""
    text = unicodedata.normalize("NFKC", text)
    text = _BOILERPLATE_RE.sub(" ", text)
    return " ".join(_NON_WORD_RE.sub(" ", text.casefold()).split())


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


def content_key(article: Article) -> str:
    return "c:" + _digest(canonical_text(article.body or article.title))


def url_key(article: Article) -> str | None:
    cu = canonical_url(article.url)
    return "u:" + _digest(cu) if cu else None


def partition_key(article: Article) -> bytes:
    """Key of ``news.parsed`` records: exact copies land on the same partition as their original."""
    return content_key(article).encode()


@dataclass(frozen=True)
class DedupResult:
    article: Article | DuplicateArticle
    is_duplicate: bool


def dedup(article: Article, index: DedupIndex, *, now: datetime | None = None) -> DedupResult:
    keys = [("exact", content_key(article))]
    if uk := url_key(article):
        keys.append(("url", uk))
    ts = (article.published_at or article.received_at).timestamp()
    for kind, key in keys:
        first = index.get(key)
        if first is not None and first["id"] != article.id:
            dup = DuplicateArticle(
                **article.model_dump(exclude={"duplicate_of", "similarity", "cluster_id"}),
                duplicate_of=first["id"],
                similarity=1.0,
                cluster_id=first.get("cluster") or first["id"],
                duplicate_kind=kind,
                reason=f"{'same canonical content' if kind == 'exact' else 'same canonical URL'} as {first['id']}",
            )
            return DedupResult(dup, True)
    entry = {"id": article.id, "cluster": article.id, "ts": ts}
    for _, key in keys:
        if index.get(key) is None:
            index[key] = entry
    return DedupResult(article.model_copy(update={"cluster_id": article.id, "duplicate_of": None}), False)
