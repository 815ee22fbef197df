"""The public English NER sets of ``../shared/eval/ner-extra`` as CoNLL-style documents.

Each set keeps its own type names in its files; ``SETS`` maps them onto CoNLL's four classes (PER, ORG,
LOC, MISC) or drops them (dates, amounts), and says which classes the set annotates at all, so a
scorer does not count a MISC prediction as wrong on a set that never marks MISC. The mapping is the
one the set's README suggests, written down here once for the evaluation and the training data
(``training/ner/prepare.py``).

Files with ``-DOCSTART-`` markers are read as documents; sets without them (tweets, Wikipedia
sentences) are read one document per sentence, so document rules never join unrelated texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.measure.eval.conll_ner import ConllDoc, read_conll

FOUR = ("PER", "ORG", "LOC", "MISC")
THREE = ("PER", "ORG", "LOC")
_PLAIN4 = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}
_PLAIN3 = {"PER": "PER", "ORG": "ORG", "LOC": "LOC"}


@dataclass(frozen=True)
class NerSet:
    name: str
    #: source type name -> CoNLL class; a type not listed is dropped (becomes O)
    labels: dict[str, str]
    #: the CoNLL classes the set annotates (predictions of other classes are not scored)
    classes: tuple[str, ...]
    #: licence as the set's SOURCE.md gives it
    licence: str
    #: licence allows commercial use (what the shipped model may be trained on)
    permissive: bool
    domain: str
    #: drop gold spans without a capitalized token (re3d also labels nominal mentions)
    names_only: bool = False


SETS: dict[str, NerSet] = {s.name: s for s in (
    NerSet("conllpp-2020", _PLAIN4, FOUR, "none stated (research/evaluation)", False, "Reuters news 2020"),
    NerSet("worldwide", {"Person": "PER", "Organization": "ORG", "Location": "LOC", "Facility": "LOC",
                         "NORP": "MISC", "Product": "MISC", "Misc": "MISC"}, FOUR,
           "CC BY-NC-SA 4.0 (as catalogued)", False, "non-Western news"),
    NerSet("finer-ord", _PLAIN3, THREE, "CC BY-NC 4.0", False, "financial news"),
    NerSet("uner-en-ewt", _PLAIN3, THREE, "CC BY-SA 4.0", True, "web text"),
    NerSet("uner-en-pud", _PLAIN3, THREE, "CC BY-SA 3.0", True, "news and Wikipedia sentences"),
    NerSet("wikigold", _PLAIN4, FOUR, "CC BY 4.0", True, "Wikipedia"),
    NerSet("wikineural-en", _PLAIN4, FOUR, "CC BY-NC-SA 4.0", False, "Wikipedia (silver labels)"),
    NerSet("re3d", {"Person": "PER", "Organisation": "ORG", "Location": "LOC", "Nationality": "MISC",
                    "Weapon": "MISC", "MilitaryPlatform": "MISC", "DocumentReference": "MISC"}, FOUR,
           "mixed per source (incl. CC BY-NC 3.0)", False, "Syria/Iraq conflict reports", names_only=True),
    NerSet("sec-filings", _PLAIN4, FOUR, "CC BY 3.0", True, "SEC loan agreements"),
    NerSet("btc", _PLAIN3, THREE, "CC BY 4.0", True, "tweets"),
    NerSet("wnut17", {"person": "PER", "location": "LOC", "group": "ORG", "corporation": "ORG",
                      "product": "MISC", "creative-work": "MISC"}, FOUR, "CC BY 4.0", True, "social media"),
    NerSet("tweebank-ner", _PLAIN4, FOUR, "Apache-2.0 (Tweebank terms apply)", True, "tweets"),
)}


def _has_docstart(path: Path) -> bool:
    with open(path, encoding="utf-8") as fh:
        return any(line.startswith("-DOCSTART-") for line in fh)


def _split_sentences(doc: ConllDoc) -> list[ConllDoc]:
    out = []
    bounds = doc.sent_starts + [len(doc.words)]
    for s, e in zip(bounds, bounds[1:]):
        out.append(ConllDoc(words=doc.words[s:e], spans=[(a - s, b - s, lab) for a, b, lab in doc.spans
                                                          if s <= a and b <= e], sent_starts=[0]))
    return out


def read_set(root: Path, name: str, split: str, max_tokens: int = 0) -> list[ConllDoc]:
    """One split of one set, its labels mapped to CoNLL classes; at most ``max_tokens`` (whole documents)."""
    spec = SETS[name]
    path = Path(root) / name / f"{split}.txt"
    docs = read_conll(path)
    if not _has_docstart(path):
        docs = [s for d in docs for s in _split_sentences(d)]
    out: list[ConllDoc] = []
    total = 0
    for d in docs:
        d = _drop_url_units(d) if name == "worldwide" else d
        spans = []
        for s, e, lab in d.spans:
            coarse = spec.labels.get(lab)
            if coarse is None:
                continue
            if spec.names_only and not any(w[:1].isupper() for w in d.words[s:e]):
                continue
            spans.append((s, e, coarse))
        d.spans = spans
        if not d.words:
            continue
        out.append(d)
        total += len(d.words)
        if max_tokens and total >= max_tokens:
            break
    return out


def _drop_url_units(doc: ConllDoc) -> ConllDoc:
    """worldwide: the one-token URL unit that opens nearly every article."""
    bounds = doc.sent_starts + [len(doc.words)]
    drop = [(s, e) for s, e in zip(bounds, bounds[1:])
            if e - s == 1 and doc.words[s].startswith(("http://", "https://", "www."))]
    if not drop:
        return doc
    keep = [i for i in range(len(doc.words)) if not any(s <= i < e for s, e in drop)]
    new_index = {old: new for new, old in enumerate(keep)}
    spans = [(new_index[s], new_index[e - 1] + 1, lab) for s, e, lab in doc.spans if s in new_index]
    starts = sorted({new_index[s] for s in doc.sent_starts if s in new_index})
    return ConllDoc(words=[doc.words[i] for i in keep], spans=spans, sent_starts=starts)


def available(root: Path, split: str) -> list[str]:
    """The sets that have ``split`` under ``root``, in ``SETS`` order."""
    return [n for n in SETS if (Path(root) / n / f"{split}.txt").is_file()]
