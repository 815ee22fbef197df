"""Train the topic model (``pipeline/models/topics/topics.npz``) on the HuffPost News Category Dataset.

    python training/train_topics.py HUFFPOST.jsonl [--out pipeline/models/topics/topics.npz]

The data (where it came from, its licence, why it is not one of the reserved sets, and the label
mapping) is described in ``training/README.md``. Steps, all deterministic (fixed seed):

1. Each item (headline + short description) gets the IPTC top-level class its HuffPost section maps
   to (``SECTION_TO_IPTC``). Sections that do not name a topic (WORLD NEWS, U.S. NEWS, the WorldPost)
   are labelled by distant supervision: the seed-vocabulary classifier (``categories.seed_classify``)
   labels them when its first class is one the sections never give (conflict, disaster, labour,
   weather) with a share of at least ``WEAK_SHARE``; the others are left out. Sections about a group of
   readers rather than a topic (Black Voices, Queer Voices, Women...) are left out.
2. A stratified fifth of the section-labelled items is the development set
   (``training/data/topics-dev.jsonl.gz``, what ``newsflow eval enrich`` scores); the rest trains.
3. Sublinear TF-IDF over ``topics.tokens`` (scikit-learn), one-vs-rest logistic regression per class;
   the seed vocabulary's class shares (``topics.seed_features``) are 17 more features; the vocabulary is cut to the words whose weights matter, and the weights stored as float16.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, split, write_jsonl_gz  # noqa: E402

from pipeline.stages.enrich.linear import save  # noqa: E402
from pipeline.stages.enrich.taxonomy import MEDIA_TOPICS  # noqa: E402
from pipeline.stages.enrich.topics import document, seed_features, tokens  # noqa: E402

WEAK_SHARE = 0.4
C = 8.0
MAX_VOCAB = 20000

ARTS, CONFLICT, CRIME, DISASTER, ECONOMY, EDUCATION, ENVIRONMENT, HEALTH, HUMAN, LABOUR, LIFESTYLE, POLITICS, \
    RELIGION, SCIENCE, SOCIETY, SPORT, WEATHER = (code for code, _, _ in MEDIA_TOPICS)

#: HuffPost section -> IPTC Media Topic (top level); sections not here are not used
SECTION_TO_IPTC = {
    "POLITICS": POLITICS,
    "WELLNESS": HEALTH, "HEALTHY LIVING": HEALTH,
    "ENTERTAINMENT": ARTS, "COMEDY": ARTS, "MEDIA": ARTS, "ARTS": ARTS, "ARTS & CULTURE": ARTS,
    "CULTURE & ARTS": ARTS,
    "TRAVEL": LIFESTYLE, "STYLE & BEAUTY": LIFESTYLE, "STYLE": LIFESTYLE, "FOOD & DRINK": LIFESTYLE,
    "TASTE": LIFESTYLE, "HOME & LIVING": LIFESTYLE, "WEDDINGS": LIFESTYLE,
    "PARENTING": SOCIETY, "PARENTS": SOCIETY, "DIVORCE": SOCIETY, "IMPACT": SOCIETY,
    "BUSINESS": ECONOMY, "MONEY": ECONOMY,
    "SPORTS": SPORT,
    "CRIME": CRIME,
    "WEIRD NEWS": HUMAN, "GOOD NEWS": HUMAN,
    "GREEN": ENVIRONMENT, "ENVIRONMENT": ENVIRONMENT,
    "RELIGION": RELIGION,
    "SCIENCE": SCIENCE, "TECH": SCIENCE,
    "COLLEGE": EDUCATION, "EDUCATION": EDUCATION,
}
#: sections of general news, labelled by distant supervision (step 1)
GENERAL_SECTIONS = {"WORLD NEWS", "U.S. NEWS", "THE WORLDPOST", "WORLDPOST"}
WEAK_CLASSES = {CONFLICT, DISASTER, LABOUR, WEATHER}


def read(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def label(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """(section-labelled, weakly labelled) examples: ``{"title", "body", "label", "source"}``."""
    from pipeline.stages.enrich.categories import seed_classify
    from schemas import Article

    gold, weak = [], []
    seen = set()
    for it in items:
        title, body = it["headline"].strip(), it.get("short_description", "").strip()
        key = (title.lower(), body.lower())
        if not title or key in seen:
            continue
        seen.add(key)
        section = it["category"]
        ex = {"title": title, "body": body, "section": section}
        if section in SECTION_TO_IPTC:
            gold.append({**ex, "label": SECTION_TO_IPTC[section]})
        elif section in GENERAL_SECTIONS:
            art = Article(id="t", origin="t", received_at="2025-01-01T00:00:00Z", raw_format="text",
                          title=title, body=body, language="en")
            cats = seed_classify(art)
            if cats and cats[0].id in WEAK_CLASSES and cats[0].score >= WEAK_SHARE:
                weak.append({**ex, "label": cats[0].id})
    return gold, weak


def fit(train: list[dict]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    codes = [code for code, _, _ in MEDIA_TOPICS]
    texts = [document(ex["title"], ex["body"]) for ex in train]
    vec = TfidfVectorizer(tokenizer=tokens, lowercase=False, token_pattern=None, sublinear_tf=True, min_df=2,
                          dtype=np.float32)
    from scipy.sparse import csr_matrix, hstack

    words = vec.fit_transform(texts)
    seeds = np.stack([seed_features(ex["title"], ex["body"]) for ex in train])
    X = hstack([words, csr_matrix(seeds)]).tocsr()
    n_words = words.shape[1]
    coef = np.zeros((X.shape[1], len(codes)), np.float32)
    intercept = np.full(len(codes), -10.0, np.float32)  # a class with no example is never predicted
    for j, code in enumerate(codes):
        y = np.array([ex["label"] == code for ex in train])
        if y.sum() < 5:
            print(f"  {code}: {int(y.sum())} examples, not trained", file=sys.stderr)
            continue
        lr = LogisticRegression(C=C, max_iter=2000, solver="liblinear", class_weight="balanced")
        lr.fit(X, y)
        coef[:, j] = lr.coef_[0]
        intercept[j] = lr.intercept_[0]
    return vec, coef[:n_words], intercept, codes, coef[n_words:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="+", help="HuffPost News Category Dataset JSON lines")
    ap.add_argument("--out", type=Path, default=ROOT / "pipeline" / "models" / "topics" / "topics.npz")
    ap.add_argument("--dev-out", type=Path, default=ROOT / "training" / "data" / "topics-dev.jsonl.gz")
    args = ap.parse_args(argv)
    items = [it for p in args.data for it in read(p)]
    gold, weak = label(items)
    train, dev = split(gold)
    train += weak
    print(f"{len(items)} items: {len(gold)} section-labelled, {len(weak)} weakly labelled; "
          f"train {len(train)}, dev {len(dev)}", file=sys.stderr)
    print("train classes:", dict(Counter(ex["label"] for ex in train).most_common()), file=sys.stderr)
    vec, coef, intercept, codes, seed_coef = fit(train)
    save(args.out, vec, coef, intercept, codes, max_vocab=MAX_VOCAB, seed_coef=seed_coef)
    write_jsonl_gz(args.dev_out, [{k: ex[k] for k in ("title", "body", "section", "label")} for ex in dev])
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), {args.dev_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
