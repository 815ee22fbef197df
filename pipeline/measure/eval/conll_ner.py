"""CoNLL-2003 for entity tagging: documents as token lists with gold entity spans (token offsets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: pipeline (OntoNotes) label -> CoNLL label, as ../shared/eval/README.md says; others are dropped
TO_CONLL = {
    "PERSON": "PER",
    "GPE": "LOC", "LOC": "LOC", "FAC": "LOC",
    "ORG": "ORG",
    "NORP": "MISC", "EVENT": "MISC", "PRODUCT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC",
    "LANGUAGE": "MISC",
}


@dataclass
class ConllDoc:
    words: list[str] = field(default_factory=list)
    #: (start token, end token exclusive, CoNLL label)
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    #: token index where each sentence starts
    sent_starts: list[int] = field(default_factory=list)


def read_conll(path: str | Path) -> list[ConllDoc]:
    """Read a CoNLL-2003 file (``WORD POS CHUNK TAG``, IOB1 or IOB2 tags) into documents."""
    docs: list[ConllDoc] = []
    doc: ConllDoc | None = None
    tags: list[str] = []

    def close() -> None:
        if doc is not None and doc.words:
            doc.spans = _spans(tags)
            docs.append(doc)

    new_sent = True
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                new_sent = True
                continue
            if parts[0] == "-DOCSTART-":
                close()
                doc, tags, new_sent = ConllDoc(), [], True
                continue
            if doc is None:
                doc, tags = ConllDoc(), []
            if new_sent:
                doc.sent_starts.append(len(doc.words))
                tags.append("S")  # sentence boundary marker: an entity never crosses it
                new_sent = False
            doc.words.append(parts[0])
            tags.append(parts[-1])
    close()
    return docs


def _spans(tags: list[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    start, label, i = None, None, 0
    for tag in tags:
        if tag == "S":
            if start is not None:
                spans.append((start, i, label))
            start, label = None, None
            continue
        prefix, _, lab = tag.partition("-")
        if start is not None and (prefix in ("O", "B") or lab != label):
            spans.append((start, i, label))
            start, label = None, None
        if prefix in ("B", "I") and start is None:
            start, label = i, lab
        i += 1
    if start is not None:
        spans.append((start, i, label))
    return spans
