"""The trained topic model: IPTC Media Topics (top level) from the words of an article.

A linear model (``linear.py``) shipped as one small file (``pipeline/models/topics/topics.npz``, written
by ``training/train_topics.py``): one logistic-regression row per IPTC class (one-vs-rest, so an article
may belong to several) over the article's words (the title counted ``TITLE_REPEAT`` times, the source's
own category labels once); each class's probability is the sigmoid of its TF-IDF score plus the seed vocabulary's
evidence (``categories.seed_votes``: each class's share of the votes, shrunk towards 0 when there are
few) through weights learnt with the rest. Only numpy runs here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.stages.enrich.linear import LinearModel, tokens  # noqa: F401  (tokens: the training script's)

MODEL = Path(__file__).resolve().parents[2] / "models" / "topics" / "topics.npz"

#: the title says what the story is about: its words count this many times
TITLE_REPEAT = 3
#: seed votes added to the total before taking shares: a few matching words are weak evidence
SEED_PRIOR = 8.0
#: the seed shares' scale beside the unit-length TF-IDF vector (regularisation treats both alike)
SEED_SCALE = 4.0


def document(title: str, body: str, labels: list[str] = ()) -> str:
    """The text the model reads for an article (the training script builds its examples with it)."""
    return "\n".join([*([title] * TITLE_REPEAT), *labels, body])


def seed_features(title: str, body: str, labels: list[str] = ()) -> np.ndarray:
    """Each class's share of the seed vocabulary's votes, shrunk towards 0 when there are few."""
    from pipeline.stages.enrich.categories import seed_votes

    votes = np.asarray(seed_votes(title, body, labels), np.float32)
    return SEED_SCALE * votes / (votes.sum() + SEED_PRIOR)


class TopicModel(LinearModel):
    def __init__(self, path: Path = MODEL):
        super().__init__(path)
        self.codes = self.classes
        self.seed_coef = self.extra["extra_seed_coef"]  # (classes, classes)

    def predict(self, title: str, body: str, labels: list[str] = ()) -> tuple[np.ndarray, int]:
        """Each class's probability (one-vs-rest logistic regression), in ``codes`` order, and how many
        distinct words of the article the model knows."""
        idx, x = self.features(tokens(document(title, body, labels)))
        z = self.intercept + x @ self.coef[idx] + seed_features(title, body, labels) @ self.seed_coef
        return 1.0 / (1.0 + np.exp(-z)), len(idx)

    def probabilities(self, title: str, body: str, labels: list[str] = ()) -> np.ndarray:
        return self.predict(title, body, labels)[0]


@lru_cache(maxsize=1)
def model() -> TopicModel:
    return TopicModel()
