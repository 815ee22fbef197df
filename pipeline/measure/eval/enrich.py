"""``newsflow eval enrich``: the quality of the trained enrichers on their development sets, each beside
its baseline, in one run (the speed half is ``pipeline/measure/enrich_speed.py``).

* **Topics**: ``training/data/topics-dev.jsonl.gz`` (HuffPost sections mapped to IPTC, see
  ``training/README.md``): first-category accuracy, mean per-class recall and items left without a
  category, for the trained model and for the seed vocabulary alone (the previous classifier); the
  model's calibration (expected calibration error of its first probability, 10 bins).
* **Sentiment**: ``training/data/sentiment-dev.jsonl.gz`` (SEntFiN headlines): accuracy and macro-F1 of
  the model, of VADER (``vaderSentiment`` as newsflow used it: compound score, ±0.05) and of always
  answering the majority class.
* **Language**: English text that is detected as another language (so skipped by the English-only
  enrichers), for ``language.detect`` and for lingua alone: the sentiment development headlines, and,
  when ``../shared/eval`` is there, the CoNLL-2003 validation lines of 8+ tokens (Reuters news; the
  results tables among them are lists of names and scores).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

DATA = Path(__file__).resolve().parents[3] / "training" / "data"


def _read(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _article(title: str, body: str):
    from schemas import Article

    return Article(id="t", origin="t", received_at="2025-01-01T00:00:00Z", raw_format="text", title=title,
                   body=body, language="en")


def accuracy(gold: list[str], pred: list[str | None]) -> float:
    return round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 4) if gold else 0.0


def macro_f1(gold: list[str], pred: list[str | None]) -> float:
    labels = sorted(set(gold))
    f1s = []
    for c in labels:
        tp = sum(g == c and p == c for g, p in zip(gold, pred))
        fp = sum(g != c and p == c for g, p in zip(gold, pred))
        fn = sum(g == c and p != c for g, p in zip(gold, pred))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return round(sum(f1s) / len(f1s), 4) if f1s else 0.0


def mean_recall(gold: list[str], pred: list[str | None]) -> float:
    per = {c: [g == p for g, p in zip(gold, pred) if g == c] for c in set(gold)}
    return round(sum(sum(v) / len(v) for v in per.values()) / len(per), 4) if per else 0.0


def calibration_error(confidence: list[float], correct: list[bool], bins: int = 10) -> float:
    total, err = len(confidence), 0.0
    for b in range(bins):
        idx = [i for i, c in enumerate(confidence) if min(bins - 1, int(c * bins)) == b]
        if idx:
            conf = sum(confidence[i] for i in idx) / len(idx)
            acc = sum(correct[i] for i in idx) / len(idx)
            err += abs(conf - acc) * len(idx) / total
    return round(err, 4)


def topics(path: Path = DATA / "topics-dev.jsonl.gz") -> dict[str, Any]:
    from pipeline.stages.enrich.categories import classify, seed_classify

    items = _read(path)
    gold = [it["label"] for it in items]
    model, seed, conf = [], [], []
    for it in items:
        a = _article(it["title"], it["body"])
        cats = classify(a)
        model.append(cats[0].id if cats else None)
        conf.append(cats[0].score if cats else 0.0)
        base = seed_classify(a)
        seed.append(base[0].id if base else None)
    return {
        "items": len(items),
        "model": {"accuracy": accuracy(gold, model), "mean_class_recall": mean_recall(gold, model),
                  "no_category": model.count(None),
                  "calibration_error": calibration_error(conf, [g == p for g, p in zip(gold, model)])},
        "seed_vocabulary": {"accuracy": accuracy(gold, seed), "mean_class_recall": mean_recall(gold, seed),
                            "no_category": seed.count(None)},
    }


def sentiment(path: Path = DATA / "sentiment-dev.jsonl.gz") -> dict[str, Any]:
    import numpy as np

    from pipeline.stages.enrich.sentiment import CLASSES, analyzer, probabilities, vader_label

    items = _read(path)
    gold = [it["label"] for it in items]
    model = [CLASSES[int(np.argmax(probabilities(it["text"])))] for it in items]
    vader = [vader_label(analyzer().polarity_scores(it["text"])["compound"]) for it in items]
    majority_label = Counter(gold).most_common(1)[0][0]
    majority = [majority_label] * len(gold)
    return {"items": len(items), **{name: {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred)}
                                    for name, pred in (("model", model), ("vader", vader),
                                                       ("majority_" + majority_label, majority))}}


def _conll_lines(path: Path, min_tokens: int = 8) -> Iterable[str]:
    cur: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("-DOCSTART-"):
                if len(cur) >= min_tokens:
                    yield " ".join(cur)
                cur = []
                continue
            cur.append(line.split()[0])
    if len(cur) >= min_tokens:
        yield " ".join(cur)


def _errors(texts: list[str], detect: Callable[[str], tuple[str | None, float | None]]) -> int:
    """English texts detected as a language the English-only enrichers skip."""
    from pipeline.knowledge.language import supports_english

    return sum(not supports_english(detect(t)[0]) for t in texts)


def language(conll: Path | None = None) -> dict[str, Any]:
    from pipeline.knowledge.language import _lingua, detect, lower_words

    sets = {"sentiment_dev_headlines": [it["text"] for it in _read(DATA / "sentiment-dev.jsonl.gz")]}
    if conll is not None and (conll / "conll2003-valid.txt").is_file():
        lines = list(_conll_lines(conll / "conll2003-valid.txt"))
        sets["conll_valid_8plus_tokens"] = lines
        sets["conll_valid_sentences"] = [t for t in lines if len(lower_words(t)) >= 3]
    return {name: {"items": len(texts), "not_english": _errors(texts, detect),
                   "lingua_alone_not_english": _errors(texts, _lingua)} for name, texts in sets.items()}


def run(conll: Path | None = None) -> dict[str, Any]:
    if not (DATA / "topics-dev.jsonl.gz").is_file() or not (DATA / "sentiment-dev.jsonl.gz").is_file():
        return {"skipped": f"no development sets in {DATA} (a source checkout has them)"}
    return {"topics": topics(), "sentiment": sentiment(), "language": language(conll)}


def report(res: dict[str, Any]) -> list[str]:
    """The figures as lines, each beside its baseline."""
    if "skipped" in res:
        return [f"quality: skipped, {res['skipped']}"]
    t, s = res["topics"], res["sentiment"]
    m, b = t["model"], t["seed_vocabulary"]
    lines = [f"topics ({t['items']} HuffPost dev items, first category): model accuracy {m['accuracy']}, "
             f"mean class recall {m['mean_class_recall']}, {m['no_category']} without a category, calibration "
             f"error {m['calibration_error']} | seed vocabulary {b['accuracy']}, {b['mean_class_recall']}, "
             f"{b['no_category']} without"]
    lines.append(f"sentiment ({s['items']} SEntFiN dev headlines): " + " | ".join(
        f"{name} accuracy {v['accuracy']} macro-F1 {v['macro_f1']}" for name, v in s.items() if name != "items"))
    for name, v in res["language"].items():
        lines.append(f"language, {name}: {v['not_english']} of {v['items']} English texts detected as another "
                     f"language | lingua alone {v['lingua_alone_not_english']}")
    return lines
