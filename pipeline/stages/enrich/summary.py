"""Summary: two or three sentences taken word for word from the article (extractive), in their order.

Each sentence of the body scores by its content (the mean informativeness of its words, weighted by
how often the article repeats them, and by how many of the title's words and top entities it names)
and by its position (news puts the essentials first: the lead counts double). Sentences under six
or over sixty words, sentences that are mostly inside a quotation (a quotation may run over several
sentences: a sentence that only opens one, “We will not back down., is passed over too) and sentences
that introduce what follows (ending in a colon) are passed over, and so is a sentence that repeats
one already chosen (a paragraph printed twice, a lead repeated as a caption). Three sentences for
articles of eight sentences or more, two otherwise (one when there is only one).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pipeline.stages.enrich.registry import enricher
from pipeline.stages.enrich.keywords import idf
from pipeline.stages.enrich.text import sentence_spans, stopwords
from schemas import Article

MIN_WORDS, MAX_WORDS = 6, 60
_WORD = re.compile(r"[A-Za-z][\w’'-]*")
_QUOTE = re.compile(r"“[^”]*(?:”|$)|\"[^\"]*(?:\"|$)")
_NOT_WORD = re.compile(r"\W+")
_DANGLING = {"he", "she", "they", "it", "this", "that", "these", "those", "but", "and", "also", "however"}


def _quoted_chars(body: str) -> list[tuple[int, int]]:
    """Spans of the body inside quotation marks, a quotation left open running to its paragraph's end."""
    out = []
    start = 0
    for para in body.split("\n"):
        out.extend((start + m.start(), start + m.end()) for m in _QUOTE.finditer(para))
        start += len(para) + 1
    return out


def _key(text: str) -> str:
    return _NOT_WORD.sub(" ", text.lower()).strip()


def summarize(article: Article) -> list[str]:
    body = article.body
    spans = sentence_spans(body)
    if not spans:
        return []
    stop = stopwords()
    words_of = [[w.lower() for w in _WORD.findall(body[s:e])] for s, e in spans]
    tf = Counter(w for ws in words_of for w in ws if w not in stop)
    title = {w.lower() for w in _WORD.findall(article.title)} - stop
    top_entities = [e for e in article.entities if e.label not in ("DATE", "MONEY")][:5]
    mention_starts = [[m.start for m in (e.mentions or []) if m.field == "body"] for e in top_entities]
    quotes = _quoted_chars(body)
    scored = []
    for k, ((s, e), words) in enumerate(zip(spans, words_of)):
        text = body[s:e]
        if not (MIN_WORDS <= len(words) <= MAX_WORDS):
            continue
        quoted = sum(max(0, min(e, qe) - max(s, qs)) for qs, qe in quotes)
        if quoted > 0.5 * (e - s) or text.rstrip().endswith(":"):
            continue
        content = [w for w in words if w not in stop]
        if not content:
            continue
        weight = sum(min(6.0, idf(w)) * (1 + 0.5 * (tf[w] - 1)) for w in content) / (len(content) ** 0.7)
        weight *= 1 + 0.15 * len(title.intersection(content))
        weight *= 1 + 0.1 * sum(any(s <= p < e for p in starts) for starts in mention_starts)
        position = 2.0 if k == 0 else 1.0 + 1.0 / (1 + k)
        if words[0] in _DANGLING:  # "He said …" means nothing without the sentence before
            position *= 0.5
        scored.append((weight * position, k))
    n = 3 if len(spans) >= 8 else 2 if len(spans) >= 2 else 1
    chosen: list[int] = []
    keys: list[str] = []
    for _, k in sorted(scored, reverse=True):
        key = _key(body[spans[k][0]:spans[k][1]])
        if any(key in other or other in key for other in keys):
            continue  # the same sentence again (or one containing it)
        chosen.append(k)
        keys.append(key)
        if len(chosen) == n:
            break
    chosen.sort()
    return [body[spans[k][0]:spans[k][1]] for k in chosen]


@enricher("summary", ("summary",))
def summary(article: Article) -> dict[str, Any]:
    return {"summary": summarize(article)}
