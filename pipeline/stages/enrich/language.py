"""Language: ISO 639-1 code and confidence (lingua). The normalize stage detects it already (to decide
which repairs apply); this enricher fills it only for articles that arrive without it."""

from __future__ import annotations

from typing import Any

from pipeline.stages.enrich.registry import enricher
from pipeline.knowledge.language import detect
from schemas import Article


@enricher("language", ("language", "language_confidence"))
def language(article: Article) -> dict[str, Any]:
    if article.language:
        return {}
    lang, conf = detect(f"{article.title}\n{article.body}")
    return {"language": lang, "language_confidence": conf}
