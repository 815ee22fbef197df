"""Categories: the article's IPTC Media Topics (top level, 17 classes; see ``taxonomy.py``) with scores.

The trained topic model (``topics.py``, a one-vs-rest logistic regression over TF-IDF words, trained
by ``training/train_topics.py``) gives each class a probability; the classes with a probability of at
least ``KEEP``, or at least ``NEAR_TOP`` of the first's, are kept (at most three, best first), and always the most probable one when the model
knows any word of the article. The score is the model's probability (calibrated on its development set,
see the README), not a share.

The seed vocabulary of ``taxonomy.py`` is one of the model's inputs (``seed_votes``): every word of the
title, the body and the source's own category labels that matches a class's seed vocabulary votes for
that class with its informativeness (8 minus its Zipf frequency in general English, from wordfreq:
"ceasefire" weighs more than "war"), sub-linear in its count (1 + log count), three times for the title
and the source's labels. ``seed_classify`` is that vocabulary alone, the baseline of
``newsflow eval enrich``: a class's score is its share of all votes; classes with a share of at least
0.18 are kept (at most three), or the best one alone; under 8 votes, no category.
The source's own labels stay, untouched, in ``source_categories``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Any

import numpy as np

from pipeline.stages.enrich.registry import enricher
from pipeline.stages.enrich.keywords import idf
from pipeline.stages.enrich.taxonomy import MEDIA_TOPICS
from schemas import Article, Category

#: the trained model keeps every class at least this probable (and always its first)
KEEP = 0.5
#: ... and every class nearly as probable as the first (a strike is labour, economy and politics at once)
NEAR_TOP, MIN_PROBABILITY = 0.75, 0.25
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


def seed_votes(title: str, body: str, labels: list[str] = ()) -> list[float]:
    """Each class's votes from the seed vocabulary (in ``MEDIA_TOPICS`` order)."""
    counts: Counter[str] = Counter(w.lower() for w in _WORD.findall(body))
    boosted: Counter[str] = Counter(w.lower() for w in _WORD.findall(title))
    for label in labels:
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
    return votes


def seed_classify(article: Article) -> list[Category]:
    """The seed-vocabulary classifier alone (the baseline of ``newsflow eval enrich``)."""
    votes = seed_votes(article.title, article.body, article.source_categories)
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


def classify(article: Article) -> list[Category]:
    """The trained model's classes (``topics.py``): those with a probability of at least ``KEEP``, best
    first, at most ``MAX_CATEGORIES``; the most probable one always, when the model knows any of the
    article's words (an article of 50 words or more always has one), with its probability as score."""
    from pipeline.stages.enrich.topics import model

    m = model()
    p, known = m.predict(article.title, article.body, article.source_categories)
    if not known:
        return []
    order = np.argsort(-p)[:MAX_CATEGORIES]
    out = []
    for rank, i in enumerate(order):
        if rank == 0 or p[i] >= KEEP or (p[i] >= MIN_PROBABILITY and p[i] >= NEAR_TOP * p[order[0]]):
            code = m.codes[i]
            out.append(Category(label=_LABELS[code], score=round(float(p[i]), 3), scheme="iptc-mediatopic", id=code))
    return out


_LABELS = {code: label for code, label, _ in MEDIA_TOPICS}


@enricher("categories", ("categories",))
def categories(article: Article) -> dict[str, Any]:
    return {"categories": classify(article)}
