"""The trained topic model: IPTC Media Topics (top level) from the words of an article.

A linear model shipped as one small file (``pipeline/models/topics/topics.npz``, written by
``training/train_topics.py``): a vocabulary with its IDF weights, and one logistic-regression row per
IPTC class (one-vs-rest, so an article may belong to several). An article's words (lower-cased,
the title counted ``TITLE_REPEAT`` times, the source's own category labels once) become a sublinear
TF-IDF vector, L2-normalised, exactly as the training script built them with scikit-learn; each class's
probability is the sigmoid of its row's dot product with that vector, plus the seed vocabulary's
evidence (``categories.seed_votes``: each class's share of the votes, shrunk towards 0 when there are
few) through weights learnt with the rest. Only numpy runs here.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL = Path(__file__).resolve().parents[2] / "models" / "topics" / "topics.npz"

#: the title says what the story is about: its words count this many times
TITLE_REPEAT = 3
#: seed votes added to the total before taking shares: a few matching words are weak evidence
SEED_PRIOR = 8.0
#: the seed shares' scale beside the unit-length TF-IDF vector (regularisation treats both alike)
SEED_SCALE = 4.0
TOKEN = re.compile(r"[a-z][a-z0-9'’-]*[a-z0-9]|[a-z]")


def tokens(text: str) -> list[str]:
    """The model's words: lower-case runs of letters (digits, apostrophes and hyphens inside)."""
    return TOKEN.findall(text.lower())


def document(title: str, body: str, labels: list[str] = ()) -> str:
    """The text the model reads for an article (the training script builds its examples with it)."""
    return "\n".join([*([title] * TITLE_REPEAT), *labels, body])


def seed_features(title: str, body: str, labels: list[str] = ()) -> np.ndarray:
    """Each class's share of the seed vocabulary's votes, shrunk towards 0 when there are few."""
    from pipeline.stages.enrich.categories import seed_votes

    votes = np.asarray(seed_votes(title, body, labels), np.float32)
    return SEED_SCALE * votes / (votes.sum() + SEED_PRIOR)


class TopicModel:
    def __init__(self, path: Path = MODEL):
        with np.load(path, allow_pickle=False) as z:
            vocab = [str(w) for w in z["vocab"]]
            self.index = {w: i for i, w in enumerate(vocab)}
            self.idf = z["idf"].astype(np.float32)
            self.coef = z["coef"].astype(np.float32)  # (vocabulary, classes)
            self.intercept = z["intercept"].astype(np.float32)
            self.seed_coef = z["seed_coef"].astype(np.float32)  # (classes, classes)
            self.codes = [str(c) for c in z["codes"]]

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        index = self.index
        for w in tokens(text):
            i = index.get(w)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        idx = np.fromiter(counts.keys(), np.int64, len(counts))
        tf = np.fromiter(counts.values(), np.float32, len(counts))
        x = (1.0 + np.log(tf)) * self.idf[idx]
        return idx, x / np.linalg.norm(x)

    def known_words(self, title: str, body: str, labels: list[str] = ()) -> int:
        """How many distinct words of the article the model has weights for."""
        return len(self.features(document(title, body, labels))[0])

    def probabilities(self, title: str, body: str, labels: list[str] = ()) -> np.ndarray:
        """Each class's probability (one-vs-rest logistic regression), in ``codes`` order."""
        idx, x = self.features(document(title, body, labels))
        z = self.intercept + x @ self.coef[idx] + seed_features(title, body, labels) @ self.seed_coef
        return 1.0 / (1.0 + np.exp(-z))


@lru_cache(maxsize=1)
def model() -> TopicModel:
    return TopicModel()
