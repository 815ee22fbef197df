"""Sentiment: the document's tone in [-1, 1] with a label, and the tone of the sentences naming each
of the top entities, from a model trained on labelled financial-news headlines (``training/
train_sentiment.py``; a multinomial logistic regression shipped as ``pipeline/models/sentiment/
sentiment.npz``, read with numpy, see ``linear.py``).

The model reads words with their negation marked ("did not rise" gives ``not_rise``) and pairs of
neighbouring words, and two features of direction (``direction``): a measure a company wants more of
(profit, sales, orders) or less of (loss, costs, debt) moving up or down within a few words: "profit
fell" and "costs rose" are worse, "loss narrowed" is better, whatever words the training set had; and
VADER's compound score as one more feature, for the general words financial headlines do not teach
("heatstroke", "struggled"): on SemEval-2017 Task 5 headlines, a test of other news, it took the model's
polarity accuracy from 0.727 to 0.754 (VADER alone 0.721) with the development figures unchanged.
Each sentence (and the title) gets the three probabilities; a text's tone is P(positive) − P(negative),
and its label the most probable class of the mean probabilities of its sentences (the title counts
as a sentence).

VADER (vaderSentiment, a lexicon and rules for social media) was the first version of this enricher;
alone (``vader_score``, ``vader_label``) it is the baseline ``newsflow eval enrich`` measures the model against.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentiText

from pipeline.stages.enrich.linear import LinearModel, with_pairs
from pipeline.stages.enrich.registry import enricher
from pipeline.stages.enrich.text import sentence_spans
from schemas import Article, EntitySentiment, Sentiment

THRESHOLD = 0.05  # VADER's own thresholds, for the baseline
CLASSES = ("negative", "neutral", "positive")
MODEL = Path(__file__).resolve().parents[2] / "models" / "sentiment" / "sentiment.npz"
#: words that turn the next NEGATION_SPAN words around
NEGATORS = frozenset({"not", "no", "never", "without", "nor", "neither", "cannot", "hardly", "fails", "failed",
                      "fail"})
NEGATION_SPAN = 3
_TERM = re.compile(r"[a-z][a-z0-9'’-]*[a-z0-9]|[a-z]|[.,;:!?]")
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


def words(text: str) -> list[str]:
    """Lower-case words, those within NEGATION_SPAN words after a negator (up to a punctuation mark)
    prefixed ``not_``."""
    words: list[str] = []
    left = 0
    for t in _TERM.findall(text.lower()):
        if t in ".,;:!?":
            left = 0
            continue
        if t.endswith("n't") or t.endswith("n’t") or t in NEGATORS:
            words.append(t)
            left = NEGATION_SPAN
            continue
        if left:
            words.append("not_" + t)
            left -= 1
        else:
            words.append(t)
    return words


def terms(text: str) -> list[str]:
    """The sentiment model's terms: ``words`` and every pair of neighbouring words."""
    return with_pairs(words(text))


def _forms(stems: str) -> frozenset[str]:
    return frozenset(stems.split())


#: what a company or an economy wants more of ...
GOOD_MEASURES = _forms(
    "profit profits earnings revenue revenues sales income margin margins growth demand orders order dividend "
    "dividends share shares stock stocks market markets index sensex nifty gdp exports output production ebit "
    "ebitda turnover cash guidance outlook rating ratings volume volumes deliveries investment investments "
    "employment jobs value valuation price prices bookings traffic subscribers customers users earning surplus")
#: ... and less of
BAD_MEASURES = _forms(
    "loss losses costs cost debt debts deficit unemployment inflation expenses expense liabilities npa npas "
    "provisions delinquencies defaults layoffs writedowns impairment impairments risk risks jobless claims")
UP = _forms(
    "rise rises rose risen rising increase increases increased increasing grow grows grew grown growing climb "
    "climbs climbed jump jumps jumped surge surges surged soar soars soared gain gains gained up higher improve "
    "improves improved rebound rebounds rebounded widen widens widened expand expands expanded double doubles "
    "doubled boost boosts boosted advance advances advanced rally rallies rallied top tops topped beat beats "
    "record high highs spike spikes spiked")
DOWN = _forms(
    "fall falls fell fallen falling decrease decreases decreased decreasing decline declines declined declining "
    "drop drops dropped dropping slip slips slipped slump slumps slumped plunge plunges plunged tumble tumbles "
    "tumbled sink sinks sank down lower narrow narrows narrowed shrink shrinks shrank shrunk "
    "contracted cut cuts reduce reduces reduced halve halves halved ease eases eased dip dips dipped weaken "
    "weakens weakened plummet plummets plummeted slide slides slid low lows miss misses missed")
#: a direction this many words after the measure ("net profit for the quarter rose") or two before it
#: ("higher costs") belongs to it
DIRECTION_REACH = 5


def direction(ws: list[str]) -> np.ndarray:
    """(better, worse): how many measures move the good way (profit rose, loss narrowed) and the bad
    way (sales fell, costs rose), a negated direction turned around; each at most 1."""
    better = worse = 0
    for i, w in enumerate(ws):
        negated = w.startswith("not_")
        base = w[4:] if negated else w
        sign = 1 if base in GOOD_MEASURES else -1 if base in BAD_MEASURES else 0
        if not sign:
            continue
        near = ws[i + 1:i + 1 + DIRECTION_REACH] + ws[max(0, i - 2):i]
        for v in near:
            neg_v = v.startswith("not_")
            vb = v[4:] if neg_v else v
            move = 1 if vb in UP else -1 if vb in DOWN else 0
            if move:
                total = sign * move * (-1 if neg_v else 1)
                better += total > 0
                worse += total < 0
                break
    return np.array([min(1, better), min(1, worse)], np.float32)


@lru_cache(maxsize=1)
def model() -> LinearModel:
    return LinearModel(MODEL)


def rules(ws: list[str], text: str) -> np.ndarray:
    """The model's three rule features of a text: its two ``direction`` features and VADER's compound
    score (a general-English lexicon the headlines of the training set do not teach)."""
    return np.append(direction(ws), np.float32(vader_score(text)))


def features(text: str) -> tuple[list[str], np.ndarray]:
    """The model's terms of one text, and its ``rules`` features."""
    ws = words(text)
    return with_pairs(ws), rules(ws, text)


def probabilities(text: str) -> np.ndarray:
    """P(negative), P(neutral), P(positive) of one sentence."""
    m = model()
    ts, dirs = features(text)
    z = m.logits(ts) + dirs @ m.extra["extra_rules_coef"]
    e = np.exp(z - z.max())
    return e / e.sum()


def probabilities_many(texts: list[str]) -> np.ndarray:
    """``probabilities`` of many sentences at once (rows), the same figures."""
    if not texts:
        return np.zeros((0, len(CLASSES)), np.float32)
    m = model()
    ws = [words(t) for t in texts]
    z = m.logits_many([with_pairs(w) for w in ws])
    z += np.stack([rules(w, t) for w, t in zip(ws, texts)]) @ m.extra["extra_rules_coef"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def tone(p: np.ndarray) -> float:
    return float(p[2] - p[0])


def vader_score(sentence: str) -> float:
    """VADER compound score (the baseline); sentences with no lexicon word are 0 without running the model
    (exactly what VADER returns: only lexicon words carry valence)."""
    lex = _lexicon_words()
    for w in sentence.split():
        lw = w.lower()
        if lw in lex or lw.strip(string.punctuation) in lex or not lw.isascii():
            return _compound(sentence)
    return 0.0


def vader_label(value: float) -> str:
    """VADER's label for its compound score (the baseline)."""
    return "positive" if value > THRESHOLD else "negative" if value < -THRESHOLD else "neutral"


def _sentiment(probs: list[np.ndarray]) -> Sentiment:
    mean = np.mean(probs, axis=0)
    return Sentiment(score=round(max(-1.0, min(1.0, tone(mean))), 4), label=CLASSES[int(np.argmax(mean))])


@enricher("sentiment", ("sentiment", "entity_sentiment"), english_only=True)
def sentiment(article: Article) -> dict[str, Any]:
    spans = sentence_spans(article.body)
    texts = [article.body[s:e] for s, e in spans] + ([article.title] if article.title else [])
    rows = list(probabilities_many(texts))
    probs = rows[:len(spans)]
    title_probs = rows[len(spans)] if article.title else None
    every = rows
    if not every:
        every = [probabilities("")]
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
                if title_probs is not None and -1 not in idx:
                    idx.add(-1)
                    vals.append(title_probs)
                continue
            k = bisect_right(starts, m.start) - 1
            if k >= 0 and k not in idx:
                idx.add(k)
                vals.append(probs[k])
        if vals:
            s = _sentiment(vals)
            out.append(EntitySentiment(entity=e.canonical or e.text, score=s.score, label=s.label))
    return {"sentiment": _sentiment(every), "entity_sentiment": out}
