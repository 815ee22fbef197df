"""Enrich stage: runs the registered enrichers (``pipeline/stages/enrich/``), each writing its own fields.

An enricher is a function ``(article) -> dict of field updates`` registered with the fields it
writes (``pipeline.stages.enrich.enricher``). Enrichers run in registration order and see the fields
earlier ones wrote. One that fails records its error in ``enrichment_errors``; the article is still
delivered with everything else. English-only enrichers are marked in ``skipped`` for articles in
other languages. Enable or disable them with the ``enrichers`` argument / setting (``None`` = all).
"""

from __future__ import annotations

from pipeline.knowledge.language import not_supported, supports_english
from pipeline.stages.enrich import REGISTRY, Enricher, enricher
from pipeline.stages.enrich.text import clear_article_caches
from schemas import Article, EnrichmentError

STAGE = "enrich"
VERSION = "3"  # 3: trained topic and sentiment models, summary without repeats (issue 24)

__all__ = ["REGISTRY", "Enricher", "enricher", "enrich", "warm_up"]


def warm_up() -> None:
    """Load the enrichers' data now (gazetteer, lexicons) rather than on the first article."""
    from pipeline.stages.enrich import places, sentiment

    places.gazetteer()
    places.first_words()
    sentiment.model()
    sentiment.analyzer()


def enrich(article: Article, *, enrichers: list[str] | None = None) -> Article:
    clear_article_caches()  # texts are cached per article only, shared by its enrichers
    errors: list[EnrichmentError] = []
    skipped: dict[str, str] = {}
    current = article
    for name, e in REGISTRY.items():
        if enrichers is not None and name not in enrichers:
            continue
        if e.english_only and not supports_english(current.language):
            skipped[name] = not_supported(current.language)
            continue
        try:
            result = e.fn(current)
        except Exception as exc:  # noqa: BLE001 - an enricher's failure is recorded, never fatal
            errors.append(EnrichmentError(enricher=name, error=f"{type(exc).__name__}: {exc}"))
            continue
        if result:
            current = current.model_copy(update=result)
    return current.model_copy(update={
        "enrichment_errors": [*current.enrichment_errors, *errors],
        "skipped": {**current.skipped, **skipped},
    })
