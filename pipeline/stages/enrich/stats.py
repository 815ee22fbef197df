"""Stats: word count and reading time of the body."""

from __future__ import annotations

from typing import Any

from pipeline.stages.enrich.registry import enricher
from pipeline.stages.enrich.text import WORD_RE
from schemas import Article

WORDS_PER_MINUTE = 238  # average silent reading speed of adults for non-fiction (Brysbaert, 2019)


@enricher("stats", ("word_count", "reading_time_s"))
def stats(article: Article) -> dict[str, Any]:
    words = len(WORD_RE.findall(article.body))
    return {"word_count": words, "reading_time_s": round(words * 60 / WORDS_PER_MINUTE)}
