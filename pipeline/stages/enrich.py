"""Enrich stage: a registry of small enrichers, each writing its own fields of the article.

An enricher is a function ``(article) -> dict of field updates`` registered with the fields it
writes. Enrichers run in registration order and see the fields earlier ones wrote. One that fails
records its error in ``enrichment_errors``; the article is still delivered with everything else.
Enable or disable them with the ``enrichers`` argument (``None`` = all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from pipeline.language import detect
from schemas import Article, EnrichmentError

STAGE = "enrich"
VERSION = "1"

WORDS_PER_MINUTE = 238  # average silent reading speed of adults for non-fiction (Brysbaert, 2019)


@dataclass(frozen=True)
class Enricher:
    name: str
    fields: tuple[str, ...]
    fn: Callable[[Article], dict[str, Any]]
    english_only: bool = False


REGISTRY: dict[str, Enricher] = {}


def enricher(name: str, fields: tuple[str, ...], *, english_only: bool = False):
    """Register ``fn`` as an enricher writing ``fields``."""

    def wrap(fn: Callable[[Article], dict[str, Any]]):
        REGISTRY[name] = Enricher(name, fields, fn, english_only)
        return fn

    return wrap


# --------------------------------------------------------------------------------------------------
# built-in enrichers
# --------------------------------------------------------------------------------------------------


@enricher("language", ("language", "language_confidence"))
def detect_language(article: Article) -> dict[str, Any]:
    if article.language:  # the normalize stage detected it already
        return {}
    lang, conf = detect(f"{article.title}\n{article.body}")
    return {"language": lang, "language_confidence": conf}


_WORD_RE = re.compile(r"\b\w[\w'’-]*\b")


@enricher("stats", ("word_count", "reading_time_s"))
def text_stats(article: Article) -> dict[str, Any]:
    words = len(_WORD_RE.findall(article.body))
    return {"word_count": words, "reading_time_s": round(words * 60 / WORDS_PER_MINUTE)}


@lru_cache(maxsize=1)
def _yake():
    import yake

    return yake.KeywordExtractor(lan="en", n=3, dedupLim=0.7, top=10)


@enricher("keywords", ("keywords",), english_only=True)
def extract_keywords(article: Article) -> dict[str, Any]:
    text = f"{article.title}.\n{article.body}"
    entity_names = {(e.canonical or e.text).lower() for e in article.entities}
    kws = []
    for kw, _score in _yake().extract_keywords(text):
        if kw.lower() in entity_names:
            continue
        kws.append(kw)
    return {"keywords": kws}


# --------------------------------------------------------------------------------------------------


def enrich(article: Article, *, enrichers: list[str] | None = None) -> Article:
    updates: dict[str, Any] = {}
    errors: list[EnrichmentError] = list(article.enrichment_errors)
    skipped = dict(article.skipped)
    current = article
    for name, e in REGISTRY.items():
        if enrichers is not None and name not in enrichers:
            continue
        if e.english_only and current.language not in (None, "en"):
            skipped[name] = f"language {current.language} is not supported"
            continue
        try:
            result = e.fn(current)
        except Exception as exc:  # noqa: BLE001 - an enricher's failure is recorded, never fatal
            errors.append(EnrichmentError(enricher=name, error=f"{type(exc).__name__}: {exc}"))
            continue
        updates.update(result)
        current = current.model_copy(update=result)
    return current.model_copy(update={"enrichment_errors": errors, "skipped": skipped})
