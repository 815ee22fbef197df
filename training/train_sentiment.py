"""Train the sentiment model (``pipeline/models/sentiment/sentiment.npz``) on SEntFiN 1.0 headlines.

    python training/train_sentiment.py SENTFIN.csv [--out pipeline/models/sentiment/sentiment.npz]

The data (where it came from, its licence, why it is not one of the reserved sets) is described in
``training/README.md``. Steps, all deterministic (fixed seed):

1. Each headline whose entities all carry the same sentiment gets that label (positive, negative,
   neutral); headlines with conflicting entity sentiments are left out (a document label would be a guess).
2. A stratified fifth is the development set (``training/data/sentiment-dev.jsonl.gz``, what
   ``newsflow eval enrich`` scores); the rest trains.
3. Sublinear TF-IDF over ``sentiment.terms`` (words with negation marked, and word pairs, so
   "profit fell" and "not rise" are features of their own) and the three ``sentiment.rules``
   features (two of direction, VADER's compound score), multinomial logistic regression.
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, split, write_jsonl_gz  # noqa: E402

from pipeline.stages.enrich.linear import save  # noqa: E402
from pipeline.stages.enrich.sentiment import CLASSES, rules, terms, words  # noqa: E402

C = 4.0
MAX_VOCAB = 30000


def read(path: Path) -> list[dict]:
    out, seen = [], set()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            labels = set(ast.literal_eval(row["Decisions"]).values())
            title = row["Title"].strip()
            if len(labels) != 1 or not title or title.lower() in seen:
                continue
            seen.add(title.lower())
            out.append({"text": title, "label": labels.pop()})
    return out


def fit(train: list[dict]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from scipy.sparse import csr_matrix, hstack

    vec = TfidfVectorizer(analyzer=terms, sublinear_tf=True, min_df=2, dtype=np.float32)
    X_words = vec.fit_transform([it["text"] for it in train])
    dirs = np.stack([rules(words(it["text"]), it["text"]) for it in train])
    X = hstack([X_words, csr_matrix(dirs)]).tocsr()
    y = np.array([CLASSES.index(it["label"]) for it in train])
    lr = LogisticRegression(C=C, max_iter=3000)  # multinomial (lbfgs)
    lr.fit(X, y)
    coef = lr.coef_.T.astype(np.float32)
    n = X_words.shape[1]
    return vec, coef[:n], lr.intercept_.astype(np.float32), coef[n:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="SEntFiN-v1.1.csv (S No., Title, Decisions, Words)")
    ap.add_argument("--out", type=Path, default=ROOT / "pipeline" / "models" / "sentiment" / "sentiment.npz")
    ap.add_argument("--dev-out", type=Path, default=ROOT / "training" / "data" / "sentiment-dev.jsonl.gz")
    args = ap.parse_args(argv)
    items = read(args.data)
    train, dev = split(items)
    print(f"{len(items)} headlines with one sentiment; train {len(train)}, dev {len(dev)}; "
          f"train classes {dict(Counter(it['label'] for it in train))}", file=sys.stderr)
    vec, coef, intercept, rules_coef = fit(train)
    save(args.out, vec, coef, intercept, list(CLASSES), max_vocab=MAX_VOCAB, rules_coef=rules_coef)
    write_jsonl_gz(args.dev_out, dev)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), {args.dev_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
