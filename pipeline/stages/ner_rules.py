"""Document-level rules after the statistical NER: consistency within a document and a gazetteer.

A CNN tagger decides each mention from a few words around it, so the same name can come out tagged
in one sentence and missed (or labelled differently) in the next. ``newsflow_consistency`` is a spaCy
component that runs after ``ner``:

1. label vote: every mention of the same words in a document gets the label most of them got;
2. propagation: untagged occurrences of a tagged name (capitalized words) get its label, and a lone
   capitalized surname of a tagged person ("Lara" after "Brian Lara") becomes PERSON;
3. gazetteer (optional, ``gazetteer.json`` beside the model): names that were an entity with one label
   nearly every time they occurred in the training data are tagged where the model left them untagged.

It is part of the pipeline the evaluation measures (``newsflow eval entities``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

NAME_LABELS = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW",
               "LANGUAGE"}
COARSE = {"PERSON": "PER", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "ORG": "ORG"}


def _coarse(label: str) -> str:
    return COARSE.get(label, "MISC")


def _capitalized(words: tuple[str, ...]) -> bool:
    return any(w[:1].isupper() for w in words) and all(w[:1].isupper() or not w[:1].isalpha() or w in
                                                       ("of", "the", "and", "de", "for", "van", "von", "al", "bin")
                                                       for w in words)


class Consistency:
    def __init__(self, gazetteer: dict[tuple[str, ...], str] | None = None, max_len: int = 6):
        self.gazetteer = gazetteer or {}
        self.max_len = max(max_len, max((len(k) for k in self.gazetteer), default=1))
        self.first = defaultdict(set)
        for k in self.gazetteer:
            self.first[k[0]].add(len(k))

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        words = [t.text for t in doc]
        # 1. majority label per surface form (names only)
        votes: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for e in ents:
            if e.label_ in NAME_LABELS:
                votes[tuple(words[e.start:e.end])][e.label_] += 1
        best = {k: c.most_common(1)[0][0] for k, c in votes.items()}
        # the gazetteer overrides the model's class for names it knows well
        for k, lab in best.items():
            g = self.gazetteer.get(k)
            if g and _coarse(g) != _coarse(lab):
                best[k] = g
        ents = [Span(doc, e.start, e.end, label=best.get(tuple(words[e.start:e.end]), e.label_))
                if e.label_ in NAME_LABELS else e for e in ents]
        # a person's name cut short ("Xi" of "Xi Jinping"): take the rare capitalized word that follows
        ents = _extend_persons(doc, ents, words)
        # 2. propagation of tagged names, and surnames of tagged persons
        known: dict[tuple[str, ...], str] = {k: v for k, v in best.items() if _capitalized(k)}
        for e in ents:
            if e.label_ == "PERSON" and e.end - e.start >= 2:
                last = (words[e.end - 1],)
                if last[0][:1].isupper() and len(last[0]) > 2 and last not in known:
                    known[last] = "PERSON"
        taken = [False] * len(doc)
        for e in ents:
            for i in range(e.start, e.end):
                taken[i] = True
        added: list[Span] = []
        if known or self.gazetteer:
            lengths = sorted({len(k) for k in known}, reverse=True)
            i = 0
            n = len(doc)
            while i < n:
                if taken[i] or not words[i][:1].isupper():
                    i += 1
                    continue
                hit = None
                for ln in lengths:
                    key = tuple(words[i:i + ln])
                    if len(key) == ln and key in known and not any(taken[i:i + ln]):
                        hit = (ln, known[key])
                        break
                if hit is None and words[i] in self.first:
                    for ln in sorted(self.first[words[i]], reverse=True):
                        key = tuple(words[i:i + ln])
                        if len(key) == ln and key in self.gazetteer and not any(taken[i:i + ln]):
                            hit = (ln, self.gazetteer[key])
                            break
                if hit is None:
                    i += 1
                    continue
                ln, label = hit
                # only whole names: not glued to a capitalized word the model left untagged
                if (i > 0 and not taken[i - 1] and words[i - 1][:1].isupper() and not _sentence_start(words, i - 1)) or (
                        i + ln < n and not taken[i + ln] and words[i + ln][:1].isupper()):
                    i += 1
                    continue
                added.append(Span(doc, i, i + ln, label=label))
                for j in range(i, i + ln):
                    taken[j] = True
                i += ln
        if added or ents != list(doc.ents):
            doc.ents = filter_spans(ents + added)
        return doc


def _extend_persons(doc: Doc, ents: list[Span], words: list[str]) -> list[Span]:
    starts = {e.start for e in ents}
    out = []
    for e in ents:
        j = e.end
        if (e.label_ == "PERSON" and j < len(words) and j not in starts and words[j][:1].isupper()
                and words[j][1:].islower() and words[j].isalpha() and _rare(words[j])):
            e = Span(doc, e.start, j + 1, label="PERSON")
        out.append(e)
    return out


def _rare(word: str) -> bool:
    from wordfreq import zipf_frequency

    return zipf_frequency(word.lower(), "en") < 3.0


def _sentence_start(words: list[str], i: int) -> bool:
    return i == 0 or words[i - 1] in (".", "!", "?", ":", "-", '"', "(", "--")


def load_gazetteer(path: Path) -> dict[tuple[str, ...], str]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {tuple(item["words"]): item["label"] for item in data["entries"]}


@Language.factory("newsflow_consistency", default_config={"gazetteer_path": ""})
def make_consistency(nlp: Language, name: str, gazetteer_path: str) -> Consistency:
    gaz = load_gazetteer(Path(gazetteer_path)) if gazetteer_path and Path(gazetteer_path).exists() else {}
    return Consistency(gaz)
