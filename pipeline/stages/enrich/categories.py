"""Categories: the article's IPTC Media Topics (top level, 17 classes; see ``taxonomy.py``) with scores.

A seed-vocabulary classifier, naive-Bayes in spirit: every word of the title, the body and the
source's own category labels that matches a class's seed vocabulary votes for that class with its
informativeness (8 minus its Zipf frequency in general English, from wordfreq: "ceasefire" weighs
more than "war", "war" more than "power"), sub-linear in its count (1 + log count), three times
for the title and the source's labels. A class's score is its share of all votes; classes with a
share of at least 0.18 are kept (at most three, best first), or the best one alone.
The source's own labels stay, untouched, in ``source_categories``. The vocabulary is English, but
the source's labels and international words ("Bundesliga") let it place other languages too; with
too little evidence (under 8 votes) it gives no category rather than a guess.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Any

from pipeline.stages.enrich.registry import enricher
from pipeline.stages.enrich.keywords import idf
from pipeline.stages.enrich.taxonomy import MEDIA_TOPICS
from schemas import Article, Category

MIN_SHARE = 0.18
MIN_VOTES = 8.0  # less evidence than this (a short or foreign-language text) gives no category
MAX_CATEGORIES = 3
TITLE_WEIGHT = 3.0
_WORD = re.compile(r"[a-zA-ZÀ-ÿ][\w-]*")


@lru_cache(maxsize=1)
def _vocab() -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
    exact: dict[str, list[int]] = {}
    prefix: dict[str, list[int]] = {}
    for i, (_code, _label, words) in enumerate(MEDIA_TOPICS):
        for w in words.split():
            table = prefix if w.endswith("*") else exact
            table.setdefault(w.rstrip("*").lower(), []).append(i)
    return ({k: tuple(v) for k, v in exact.items()}, {k: tuple(v) for k, v in prefix.items()})


def _fold(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def classes_of(word: str) -> tuple[int, ...]:
    exact, prefix = _vocab()
    found = set(exact.get(word) or exact.get(_fold(word)) or ())
    for n in range(len(word), 2, -1):
        hit = prefix.get(word[:n])
        if hit:
            found.update(hit)
            break
    return tuple(sorted(found))


def classify(article: Article) -> list[Category]:
    counts: Counter[str] = Counter(w.lower() for w in _WORD.findall(article.body))
    boosted: Counter[str] = Counter(w.lower() for w in _WORD.findall(article.title))
    for label in article.source_categories:
        boosted.update(w.lower() for w in _WORD.findall(label))
    votes = [0.0] * len(MEDIA_TOPICS)
    for table, factor in ((counts, 1.0), (boosted, TITLE_WEIGHT)):
        for word, n in table.items():
            classes = classes_of(word)
            if not classes:
                continue
            weight = min(6.0, idf(word)) * (1.0 + math.log(n)) * factor / len(classes) ** 0.5
            for c in classes:
                votes[c] += weight
    total = sum(votes)
    if total < MIN_VOTES:
        return []
    ranked = sorted(range(len(votes)), key=lambda i: -votes[i])
    out = []
    for rank, i in enumerate(ranked[:MAX_CATEGORIES]):
        share = votes[i] / total
        if rank == 0 or share >= MIN_SHARE:
            code, label, _ = MEDIA_TOPICS[i]
            out.append(Category(label=label, score=round(share, 3), scheme="iptc-mediatopic", id=code))
    return out


@enricher("categories", ("categories",))
def categories(article: Article) -> dict[str, Any]:
    return {"categories": classify(article)}
