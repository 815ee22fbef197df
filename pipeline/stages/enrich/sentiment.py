"""Sentiment: the document's tone in [-1, 1] with a label, and the tone of the sentences naming each
of the top entities (VADER, a lexicon and rule-based model shipped in the vaderSentiment wheel).

The document score is the mean VADER compound score of the title and the body's sentences (sentences
carrying no sentiment word count as 0, so one strong sentence does not make a whole report angry).
Labels: positive above +0.05, negative below -0.05 (VADER's own thresholds), neutral between.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_right
from functools import lru_cache
from typing import Any

from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentiText

from pipeline.stages.enrich.registry import enricher
from pipeline.stages.enrich.text import sentence_spans
from schemas import Article, EntitySentiment, Sentiment

THRESHOLD = 0.05
TOP_ENTITIES = 5
ENTITY_LABELS = {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "PRODUCT"}


@lru_cache(maxsize=1)
def analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def _lexicon_words() -> frozenset[str]:
    return frozenset(analyzer().lexicon)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _has_emoji(text: str) -> bool:
    if text.isascii():
        return False
    emojis = analyzer().emojis
    return any(ch in emojis for ch in _NON_ASCII.findall(text))


def _compound(text: str) -> float:
    """VADER's compound score. Text without emoji skips VADER's character-by-character emoji pass
    (a third of its time) and runs the same steps through VADER's own methods; text with emoji goes
    through ``polarity_scores`` whole. A test checks both give the same scores."""
    vader = analyzer()
    if _has_emoji(text):
        return vader.polarity_scores(text)["compound"]
    text = text.strip()
    sentitext = SentiText(text)
    items = sentitext.words_and_emoticons
    sentiments: list[float] = []
    for i, item in enumerate(items):
        lower = item.lower()
        if lower in BOOSTER_DICT or (lower == "kind" and i < len(items) - 1 and items[i + 1].lower() == "of"):
            sentiments.append(0)
            continue
        sentiments = vader.sentiment_valence(0, sentitext, item, i, sentiments)
    sentiments = vader._but_check(items, sentiments)  # noqa: SLF001 - VADER's own rule, reused
    return vader.score_valence(sentiments, text)["compound"]


def score(sentence: str) -> float:
    """VADER compound score; sentences with no lexicon word are 0 without running the model
    (exactly what VADER returns: only lexicon words carry valence)."""
    lex = _lexicon_words()
    for w in sentence.split():
        lw = w.lower()
        if lw in lex or lw.strip(string.punctuation) in lex or not lw.isascii():
            return _compound(sentence)
    return 0.0


def label(value: float) -> str:
    return "positive" if value > THRESHOLD else "negative" if value < -THRESHOLD else "neutral"


@enricher("sentiment", ("sentiment", "entity_sentiment"), english_only=True)
def sentiment(article: Article) -> dict[str, Any]:
    spans = sentence_spans(article.body)
    scores = [score(article.body[s:e]) for s, e in spans]
    title_score = score(article.title) if article.title else None
    every = scores + ([title_score] if title_score is not None else [])
    doc = sum(every) / len(every) if every else 0.0
    doc = max(-1.0, min(1.0, doc))
    starts = [s for s, _ in spans]
    out = []

    # entities the body names (a headline-only tag is mostly a Title Case misreading)
    top = [e for e in article.entities if e.label in ENTITY_LABELS and any(m.field == "body" for m in e.mentions or [])]
    top = top[:TOP_ENTITIES]
    for e in top:
        idx: set[int] = set()
        vals = []
        for m in e.mentions or []:
            if m.field == "title":
                if title_score is not None and -1 not in idx:
                    idx.add(-1)
                    vals.append(title_score)
                continue
            k = bisect_right(starts, m.start) - 1
            if k >= 0 and k not in idx:
                idx.add(k)
                vals.append(scores[k])
        if vals:
            v = round(sum(vals) / len(vals), 4)
            out.append(EntitySentiment(entity=e.canonical or e.text, score=v, label=label(v)))
    doc = round(doc, 4)
    return {"sentiment": Sentiment(score=doc, label=label(doc)), "entity_sentiment": out}
