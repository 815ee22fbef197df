"""Linear text models shipped as small ``.npz`` files (written by the scripts in ``training/``).

A model file holds a vocabulary (words, and word pairs joined by a space), its IDF weights, a weight
matrix (vocabulary × classes) and an intercept per class. A text's terms become a sublinear TF-IDF
vector, L2-normalised, exactly as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` builds it at
training time; the classes' scores are its dot products with the weights. Only numpy runs here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

TOKEN = re.compile(r"[a-z][a-z0-9'’-]*[a-z0-9]|[a-z]")


def tokens(text: str) -> list[str]:
    """Lower-case runs of letters (digits, apostrophes and hyphens inside): the models' words."""
    return TOKEN.findall(text.lower())


def with_pairs(words: list[str]) -> list[str]:
    """The words and each pair of neighbours ("profit fell"), as scikit-learn's ngram_range=(1, 2)."""
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


class LinearModel:
    def __init__(self, path: Path):
        with np.load(path, allow_pickle=False) as z:
            self.index = {str(w): i for i, w in enumerate(z["vocab"])}
            self.idf = z["idf"].astype(np.float32)
            self.coef = z["coef"].astype(np.float32)  # (vocabulary, classes)
            self.intercept = z["intercept"].astype(np.float32)
            self.classes = [str(c) for c in z["classes"]]
            self.extra = {k: z[k].astype(np.float32) for k in z.files if k.startswith("extra_")}

    def features(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Indices and TF-IDF weights of the known terms (empty when none is known)."""
        counts: dict[int, int] = {}
        index = self.index
        for t in terms:
            i = index.get(t)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        idx = np.fromiter(counts.keys(), np.int64, len(counts))
        x = (1.0 + np.log(np.fromiter(counts.values(), np.float32, len(counts)))) * self.idf[idx]
        return idx, x / np.linalg.norm(x)

    def logits(self, terms: list[str]) -> np.ndarray:
        idx, x = self.features(terms)
        return self.intercept + x @ self.coef[idx]

    def logits_many(self, texts_terms: list[list[str]]) -> np.ndarray:
        """``logits`` of many texts (rows) with one gather and one sum (a sentence at a time costs more
        in numpy calls than in arithmetic)."""
        index, idf = self.index, self.idf
        all_idx: list[int] = []
        all_x: list[float] = []
        rows: list[int] = []
        for r, terms in enumerate(texts_terms):
            counts: dict[int, int] = {}
            for t in terms:
                i = index.get(t)
                if i is not None:
                    counts[i] = counts.get(i, 0) + 1
            if not counts:
                continue
            xs = [(1.0 + math.log(c)) * float(idf[i]) for i, c in counts.items()]
            norm = math.sqrt(sum(v * v for v in xs))
            all_idx.extend(counts)
            all_x.extend(v / norm for v in xs)
            rows.extend([r] * len(xs))
        out = np.tile(self.intercept, (len(texts_terms), 1))
        if all_idx:
            contrib = self.coef[np.asarray(all_idx)] * np.asarray(all_x, np.float32)[:, None]
            np.add.at(out, np.asarray(rows), contrib)
        return out


def save(path: Path, vectorizer, coef: np.ndarray, intercept: np.ndarray, classes: list[str], *,
         max_vocab: int | None = None, **extra: np.ndarray) -> None:
    """Write a model from a fitted ``TfidfVectorizer`` and weights (vocabulary × classes): the
    ``max_vocab`` terms with the largest weights kept, weights as float16; ``extra`` arrays as ``extra_*``."""
    vocab = vectorizer.get_feature_names_out()
    keep = np.arange(len(vocab))
    if max_vocab is not None and len(vocab) > max_vocab:
        keep = np.sort(np.argsort(-np.abs(coef).max(axis=1))[:max_vocab])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, vocab=np.array(vocab[keep], dtype=str), idf=vectorizer.idf_[keep].astype(np.float32),
                        coef=coef[keep].astype(np.float16), intercept=np.asarray(intercept, np.float32),
                        classes=np.array(classes), **{f"extra_{k}": v for k, v in extra.items()})
