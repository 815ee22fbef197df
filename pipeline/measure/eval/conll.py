"""CoNLL-2003 documents rebuilt as news articles (title = first sentence, one paragraph a sentence).

Shared by the evaluations that read ``../shared/eval``. The data is not part of the project: a missing
directory or file is reported as a one-line ``ConfigError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError

SPLITS = ("train", "valid", "test")

_NO_SPACE_BEFORE = re.compile(r" ([,.;:?!%)\]}]|'s\b|'S\b|n't\b|'re\b|'ve\b|'ll\b|'d\b|'m\b)")


def detokenize(tokens: list[str]) -> str:
    """Join CoNLL tokens as a writer would: no space before punctuation, quotes hugging their words."""
    text = ""
    open_quote = False
    glue_next = False
    for tok in tokens:
        if tok == '"':
            if open_quote:
                text += '"'
            else:
                text += (" " if text else "") + '"'
                glue_next = True
            open_quote = not open_quote
            continue
        if text and not glue_next and not _NO_SPACE_BEFORE.match(" " + tok):
            text += " "
        text += tok
        glue_next = tok in "([{$"
    return text


@dataclass
class Document:
    split: str
    index: int
    sentences: list[str]
    entities: set[tuple[str, str]] = field(default_factory=set)  # (type, lower-cased text)

    @property
    def doc_id(self) -> str:
        return f"{self.split}-{self.index:04d}"

    @property
    def title(self) -> str:
        return self.sentences[0] if self.sentences else ""

    @property
    def paragraphs(self) -> list[str]:
        return self.sentences[1:]

    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def read_conll(path: Path, split: str) -> list[Document]:
    docs: list[Document] = []
    sent: list[str] = []
    ent: list[str] = []
    ent_type = ""
    cur: Document | None = None

    def close_entity() -> None:
        nonlocal ent, ent_type
        if ent and cur is not None:
            cur.entities.add((ent_type, " ".join(ent).lower()))
        ent, ent_type = [], ""

    def close_sentence() -> None:
        nonlocal sent
        close_entity()
        if sent and cur is not None:
            cur.sentences.append(detokenize(sent))
        sent = []

    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("-DOCSTART-"):
                close_sentence()
                cur = Document(split, len(docs), [])
                docs.append(cur)
                continue
            if not line.strip():
                close_sentence()
                continue
            parts = line.split()
            tok, tag = parts[0], parts[-1]
            sent.append(tok)
            if tag.startswith("B-") or (tag.startswith("I-") and ent_type != tag[2:]):
                close_entity()
                ent, ent_type = [tok], tag[2:]
            elif tag.startswith("I-"):
                ent.append(tok)
            else:
                close_entity()
    close_sentence()
    return [d for d in docs if d.sentences]


def load_documents(data_dir: Path, splits: tuple[str, ...] = SPLITS) -> list[Document]:
    if not data_dir.is_dir():
        raise ConfigError(f"evaluation data directory {data_dir} does not exist (pass --data DIR; "
                          "it holds conll2003-{train,valid,test}.txt)")
    docs: list[Document] = []
    for split in splits:
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
        path = data_dir / f"conll2003-{split}.txt"
        if not path.is_file():
            raise ConfigError(f"{path} is missing: the CoNLL-2003 files are needed for this evaluation")
        docs.extend(read_conll(path, split))
    return docs
