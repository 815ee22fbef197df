"""Document-level rules after the statistical NER: consistency within a document and a gazetteer.

A CNN tagger decides each mention from a few words around it, so the same name can come out tagged
in one sentence and missed (or labelled differently) in the next. ``newsflow_consistency`` is a spaCy
component that runs after ``ner``:

1. gazetteer relabel: a name the gazetteer knows well gets its class where the model gave another;
2. surnames: a lone capitalized surname of a tagged person ("Lara" after "Brian Lara") becomes PERSON,
   whether the model left it untagged or gave it another class ("Cunningham" as a place), and a
   person's name cut short before a rare capitalized word is extended;
3. gazetteer (optional, ``gazetteer.json`` beside the model): names that were an entity with one label
   nearly every time they occurred in the training data are tagged where the model left them untagged;
4. datelines: the ALL-CAPS place that opens a wire story ("MINSK 1996-08-30", "NICE , France ...");
5. boundaries (first, on the model's spans): punctuation at a span's edge is cut off ("Amnesty
   International ,"), two names joined by "and" are split ("Human Rights Watch and Freedom House"), an
   acronym in parentheses after a name gets the name's class ("Labour Party ( SDLP )"), and an era
   after a number is a date ("321 BC"), not a nationality.

Two more rules are off by default because they cost F1 on CoNLL valid (config ``vote``, ``propagate``):
a majority vote of labels per surface form, and tagging every untagged occurrence of a tagged name.

It is part of the pipeline the evaluation measures (``newsflow eval entities``).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from spacy.attrs import ORTH
from spacy.language import Language
from spacy.strings import get_string_id
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
    """The document rules as a spaCy component (see the module docstring).

    Tokens are read as ORTH ids (one ``doc.to_array``) and only positions whose word starts a known
    name are visited, so the cost grows with the number of entities, not with per-token Python work.
    """

    def __init__(self, gazetteer: dict[tuple[str, ...], str] | None = None, max_len: int = 6, *,
                 vote: bool = False, propagate: bool = False, datelines: bool = True, surnames: bool = True,
                 boundaries: bool = True):
        self.gazetteer = gazetteer or {}
        self.boundaries = boundaries
        self.surnames = surnames
        self.vote = vote
        self.propagate = propagate
        self.datelines = datelines
        self.max_len = max(max_len, max((len(k) for k in self.gazetteer), default=1))
        self.first = defaultdict(set)
        for k in self.gazetteer:
            self.first[k[0]].add(len(k))
        self.first_lengths = {w: sorted(lns, reverse=True) for w, lns in self.first.items()}
        self.first_ids = {get_string_id(w) for w in self.first}

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        orig = doc.ents
        if n == 0 or (not orig and not self.gazetteer and not self.datelines):
            return doc
        strings = doc.vocab.strings
        orths = doc.to_array(ORTH).tolist()
        if self.boundaries and orig:
            fixed = _boundaries(doc, list(orig))
            if fixed is not None:
                doc.ents = fixed
                orig = doc.ents

        def word(i: int) -> str:
            return strings[orths[i]]

        def words(i: int, j: int) -> tuple[str, ...]:
            return tuple(strings[o] for o in orths[i:j])

        # 1. majority label per surface form (names only)
        keys = [words(e.start, e.end) for e in orig]
        votes: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for e, k in zip(orig, keys):
            if e.label_ in NAME_LABELS:
                votes[k][e.label_] += 1
        best = {k: c.most_common(1)[0][0] for k, c in votes.items()}
        # the gazetteer overrides the model's class for names it knows well
        override: dict[tuple[str, ...], str] = {}
        for k, lab in best.items():
            g = self.gazetteer.get(k)
            if g and _coarse(g) != _coarse(lab):
                best[k] = override[k] = g
        relabel = best if self.vote else override
        changed = False
        ents: list[Span] = []
        for e, k in zip(orig, keys):
            if e.label_ in NAME_LABELS:
                lab = relabel.get(k, e.label_)
                if lab != e.label_:
                    e = Span(doc, e.start, e.end, label=lab)
                    changed = True
            ents.append(e)
        # a person's name cut short ("Xi" of "Xi Jinping"): take the rare capitalized word that follows
        ents, extended = _extend_persons(doc, ents, word)
        changed = changed or extended
        # 2. propagation of tagged names, and surnames of tagged persons
        known: dict[tuple[str, ...], str] = (
            {k: v for k, v in best.items() if _capitalized(k)} if self.propagate else {})
        for e in ents:
            if e.label_ == "PERSON" and e.end - e.start >= 2:
                last = (word(e.end - 1),)
                if last[0][:1].isupper() and len(last[0]) > 2 and last not in known:
                    known[last] = "PERSON"
        # a tagged person's surname tagged as something else ("Cunningham" after "Randall Cunningham")
        if self.surnames:
            surnames = {word(e.end - 1) for e in ents if e.label_ == "PERSON" and e.end - e.start >= 2}
            surnames = {w for w in surnames if w[:1].isupper() and len(w) > 2}
            for x, e in enumerate(ents):
                if (e.end - e.start == 1 and e.label_ != "PERSON" and e.label_ in NAME_LABELS
                        and word(e.start) in surnames):
                    ents[x] = Span(doc, e.start, e.end, label="PERSON")
                    changed = True
        added: list[Span] = []
        if known or self.gazetteer:
            taken = [False] * n
            for e in ents:
                taken[e.start:e.end] = [True] * (e.end - e.start)
            lengths = sorted({len(k) for k in known}, reverse=True)
            known_first = {k[0] for k in known}
            first_ids = self.first_ids | {get_string_id(w) for w in known_first}
            # only positions whose word can start a known or gazetteer name, left to right
            for i in [i for i, o in enumerate(orths) if o in first_ids]:
                w = word(i)
                if taken[i] or not w[:1].isupper():
                    continue
                hit = None
                if w in known_first:
                    for ln in lengths:
                        if i + ln <= n and not any(taken[i:i + ln]):
                            key = words(i, i + ln)
                            if key in known:
                                hit = (ln, known[key])
                                break
                if hit is None and w in self.first:
                    for ln in self.first_lengths[w]:
                        if i + ln <= n and not any(taken[i:i + ln]):
                            key = words(i, i + ln)
                            if key in self.gazetteer:
                                hit = (ln, self.gazetteer[key])
                                break
                if hit is None:
                    continue
                ln, label = hit
                # only whole names: not glued to a capitalized word the model left untagged
                if (i > 0 and not taken[i - 1] and word(i - 1)[:1].isupper()
                        and not (i - 1 == 0 or word(i - 2) in _OPENERS)) or (
                        i + ln < n and not taken[i + ln] and word(i + ln)[:1].isupper()):
                    continue
                added.append(Span(doc, i, i + ln, label=label))
                taken[i:i + ln] = [True] * ln
        if self.datelines:
            ents, dated = _datelines(doc, ents + added, words, self.gazetteer)
            if dated:
                doc.ents = ents
                return doc
        if added or changed:
            doc.ents = filter_spans(ents + added)
        return doc


_EDGE_PUNCT = frozenset(",;:?\"'`()[]{}-–—/*|•·“”‘’")
_ERAS = frozenset(("BC", "AD", "BCE", "CE", "B.C.", "A.D.", "B.C.E.", "C.E."))


def _boundaries(doc: Doc, ents: list[Span]) -> list[Span] | None:
    """The span-edge fixes of rule 5 on the model's spans; None when nothing changed."""
    n = len(doc)
    out: list[Span] = []
    changed = False
    for e in ents:
        start, end, label = e.start, e.end, e.label_
        # an era after a number: "321 BC" is a date, whatever the model made of "BC"
        if doc[end - 1].text in _ERAS:
            s0 = start if end - start > 1 else start - 1
            if s0 >= 0 and doc[s0].like_num and all(t.like_num or t.text in _ERAS for t in doc[s0:end]):
                if (s0, label) != (start, "DATE"):
                    changed = True
                out.append(Span(doc, s0, end, label="DATE"))
                continue
        if label not in NAME_LABELS:
            out.append(e)
            continue
        # punctuation at the edges; a closing bracket stays when its opening one is inside
        while start < end and doc[start].text in _EDGE_PUNCT and doc[start].text != "(":
            start += 1
        while start < end and doc[end - 1].text in _EDGE_PUNCT and not (
                doc[end - 1].text == ")" and any(t.text == "(" for t in doc[start:end - 1])):
            end -= 1
        # a name with its acronym inside: "Labour Party ( SDLP )" -> the name, then the acronym
        parts = [(start, end)]
        if end - start >= 4 and doc[end - 1].text == ")" and doc[end - 3].text == "(" and _acronym(doc[end - 2].text):
            parts = [(start, end - 3), (end - 2, end - 1)]
        # two names joined by "and": each of two words or more, the first one complete (it ends in an
        # organisation's head word, "Human Rights Watch", and has no "of": "Institute of Science and
        # Technology" is one name), or two persons
        split = []
        for a, b in parts:
            cut = [i for i in range(a + 2, b - 1) if doc[i].lower_ == "and"]
            c = cut[0] if len(cut) == 1 else 0
            if c and doc[c + 1].text[:1].isupper() and doc[a].text[:1].isupper() and (
                    (label == "ORG" and doc[c - 1].text in _ORG_HEADS and not any(t.lower_ == "of" for t in doc[a:c]))
                    or (label == "PERSON" and c - a == 2 and b - c - 1 == 2)):
                split += [(a, c), (c + 1, b)]
            else:
                split.append((a, b))
        if split != [(e.start, e.end)]:
            changed = True
        out.extend(Span(doc, a, b, label=label) for a, b in split if a < b)
    # an acronym in parentheses right after a name takes the name's class
    taken = {i for x in out for i in range(x.start, x.end)}
    for x in list(out):
        i = x.end
        if (x.label_ in NAME_LABELS and i + 2 < n and doc[i].text == "(" and doc[i + 2].text == ")"
                and _acronym(doc[i + 1].text) and i + 1 not in taken):
            out.append(Span(doc, i + 1, i + 2, label=x.label_))
            changed = True
    return filter_spans(out) if changed else None


#: words that end an organisation's name: "X Group and Y Capital" are two names
_ORG_HEADS = frozenset("""Group Bank Watch International Party Capital Corporation Corp Company Inc Ltd
    Association Council Institute Newspapers Ports Holdings Partners House Foundation Agency Commission
    Ministry Organisation Organization Union Federation Fund Front Movement Alliance Airlines Airways Motors
    Times Post News Network Services Systems Technologies University College Club Committee Congress Court
    League Trust Society Center Centre Authority Board Bureau Office Department Police Army Force""".split())


def _acronym(w: str) -> bool:
    """SDLP, UNHCR, U.N.: two or more capitals, nothing else but dots."""
    letters = w.replace(".", "")
    return len(letters) >= 2 and letters.isalpha() and letters.isupper()


_DATE = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])")


def _datelines(doc: Doc, ents: list[Span], words, gazetteer) -> tuple[list[Span], bool]:
    """A wire dateline names a place: "MINSK 1996-08-30", "NICE , France 1996-08-30".

    The run of up to three ALL-CAPS words right before the date (or before ", Region" and the date) is
    a place (GPE), whatever the model made of it, unless the gazetteer knows those words as another
    kind of name (UNITED NATIONS is an organization).
    """
    text = doc.text
    if "-" not in text:
        return ents, False
    found: list[tuple[int, int]] = []
    for m in _DATE.finditer(text):
        date = doc.char_span(m.start(), m.end())
        if date is None:
            continue
        j = date.start
        i = j - 1
        while i >= 0 and j - i <= 3 and doc[i].is_alpha and len(doc[i]) > 1 and not doc[i].is_upper:
            i -= 1  # ", Region": capitalized words after a comma
        if i < j - 1 and i >= 0 and doc[i].text == "," and doc[i + 1].text[:1].isupper():
            j = i
        elif i < j - 1:
            continue
        i = j - 1
        while i >= 0 and j - i <= 3 and _caps_word(doc[i].text):
            i -= 1
        if i == j - 1 or (i >= 0 and _caps_word(doc[i].text)):
            continue
        found.append((i + 1, j))
    if not found:
        return ents, False
    out = list(ents)
    changed = False
    for s, e in found:
        if _coarse(gazetteer.get(words(s, e), "GPE")) != "LOC":
            continue
        same = [x for x in out if x.start == s and x.end == e]
        if same and _coarse(same[0].label_) == "LOC":
            continue
        out = [x for x in out if x.end <= s or e <= x.start]
        out.append(Span(doc, s, e, label="GPE"))
        changed = True
    return (filter_spans(out), True) if changed else (ents, False)


def _caps_word(w: str) -> bool:
    """NEW, YORK, N'DJAMENA: an all-caps word of letters (apostrophes, dots and hyphens inside)."""
    return len(w) > 1 and w.isupper() and w.replace("'", "").replace("-", "").replace(".", "").isalpha()


#: tokens after which a capitalized word may just be the first word of a sentence
_OPENERS = frozenset((".", "!", "?", ":", "-", '"', "(", "--"))


def _extend_persons(doc: Doc, ents: list[Span], word) -> tuple[list[Span], bool]:
    starts = {e.start for e in ents}
    n = len(doc)
    out = []
    changed = False
    for e in ents:
        j = e.end
        if e.label_ == "PERSON" and j < n and j not in starts:
            w = word(j)
            if w[:1].isupper() and w[1:].islower() and w.isalpha() and _rare(w):
                e = Span(doc, e.start, j + 1, label="PERSON")
                changed = True
        out.append(e)
    return out, changed


def _rare(word: str) -> bool:
    from wordfreq import zipf_frequency

    return zipf_frequency(word.lower(), "en") < 3.0


def load_gazetteer(path: Path) -> dict[tuple[str, ...], str]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {tuple(item["words"]): item["label"] for item in data["entries"]}


@Language.factory("newsflow_consistency",
                  default_config={"gazetteer_path": "", "vote": False, "propagate": False, "datelines": True,
                                  "boundaries": True})
def make_consistency(nlp: Language, name: str, gazetteer_path: str, vote: bool = False, propagate: bool = False,
                     datelines: bool = True, boundaries: bool = True) -> Consistency:
    gaz = load_gazetteer(Path(gazetteer_path)) if gazetteer_path and Path(gazetteer_path).exists() else {}
    return Consistency(gaz, vote=vote, propagate=propagate, datelines=datelines, boundaries=boundaries)
