"""Build the gazetteer the NER rules use: names that were an entity with one label nearly every time
they occurred in the CoNLL-2003 training data (as prepared by prepare.py, with OntoNotes labels).

A name is kept when it occurs as an entity at least MIN_COUNT times, at least MIN_ENTITY_SHARE of its
occurrences in the text are tagged, and at least MIN_LABEL_SHARE of those carry one coarse class.

The defaults (any name seen as an entity, tagged in 80% of its occurrences, always with one coarse
class) scored best on CoNLL valid with a train-only gazetteer; the shipped one is built from train +
valid (make train-ner).

A name the shared gazetteer knows as a country, subdivision or city (``pipeline.knowledge.gazetteer``) is never
kept with a non-place class: CoNLL's 1996 football results made English towns (Aberdeen, Chester,
Sunderland) clubs nearly every time they occurred, and a forced ORG on them was wrong on running text.

Usage: python training/ner/gazetteer.py --corpus training/ner/corpus/trainval.spacy --out MODEL_DIR/gazetteer.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict

import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.knowledge.gazetteer import lookup  # noqa: E402

COARSE = {"PERSON": "PER", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "ORG": "ORG"}
NAMES = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"}


def build(corpus: str, min_count: int, min_entity_share: float, min_label_share: float) -> list[dict]:
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(corpus).get_docs(nlp.vocab))
    labels: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    for doc in docs:
        for e in doc.ents:
            if e.label_ in NAMES and e.end - e.start <= 6:
                labels[tuple(t.text for t in e)][e.label_] += 1
    by_len = defaultdict(set)
    for k in labels:
        by_len[len(k)].add(k)
    occurrences: Counter = Counter()
    for doc in docs:
        words = [t.text for t in doc]
        for ln, keys in by_len.items():
            for i in range(len(words) - ln + 1):
                key = tuple(words[i:i + ln])
                if key in keys:
                    occurrences[key] += 1
    entries = []
    for key, c in labels.items():
        total = sum(c.values())
        coarse = Counter()
        for lab, k in c.items():
            coarse[COARSE.get(lab, "MISC")] += k
        top_coarse, top_n = coarse.most_common(1)[0]
        if (total >= min_count and total / max(occurrences[key], 1) >= min_entity_share
                and top_n / total >= min_label_share and key[0][:1].isupper()):
            label = max((lab for lab in c if COARSE.get(lab, "MISC") == top_coarse), key=lambda lab: c[lab])
            if top_coarse != "LOC" and _place(" ".join(key)):
                continue
            entries.append({"words": list(key), "label": label, "count": total})
    entries.sort(key=lambda e: (-e["count"], e["words"]))
    return entries


def _place(name: str) -> bool:
    """A country, subdivision or city (GeoNames, 15,000+) the shared gazetteer resolves: the football
    towns of CoNLL's sports pages."""
    return any(c.kind in ("country", "subdivision", "city") for c in lookup(name))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="training/ner/corpus/train.spacy")
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-count", type=int, default=1)
    ap.add_argument("--min-entity-share", type=float, default=0.8)
    ap.add_argument("--min-label-share", type=float, default=1.0)
    args = ap.parse_args()
    entries = build(args.corpus, args.min_count, args.min_entity_share, args.min_label_share)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"source": f"{args.corpus} (training/ner/gazetteer.py)", "min_count": args.min_count,
                   "min_entity_share": args.min_entity_share, "min_label_share": args.min_label_share,
                   "entries": entries}, fh, ensure_ascii=False, separators=(",", ":"))
    print(f"{len(entries)} names -> {args.out}")


if __name__ == "__main__":
    main()
