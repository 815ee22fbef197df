"""Normalize stage: repair scraped text without touching names; record every change.

Repairs, in order: mojibake and stray symbols (ftfy), words broken over line breaks or hyphenation,
words glued together, dictionary misspellings. Each change becomes a ``Correction`` whose offsets point
into the normalized text, so it can be audited or undone.

Names are protected: a word known to ``wordfreq`` (which knows names in the news), a word written
with a capital in the middle of a sentence anywhere in the article, acronyms, numbers, URLs, e-mail
addresses, handles and hashtags are never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import ftfy
from wordfreq import zipf_frequency

from pipeline.language import detect
from schemas import Article, Correction

STAGE = "normalize"
VERSION = "1"

#: a word at or above this Zipf frequency is a real word (or a name) and is never corrected
KNOWN_ZIPF = 2.0
#: a suggested correction must be at least this common
SUGGESTION_ZIPF = 3.0

_WORD_RE = re.compile(r"[A-Za-z][a-z]*(?:'[a-z]+)?|[A-Za-z]+")
_TOKEN_RE = re.compile(r"\S+")
_PROTECTED_RE = re.compile(
    r"^(?:https?://|www\.)|@|^#|\d|^[A-Z]{2,}s?$|[_/\\=<>{}\[\]]|\.[a-z]{2,}$"
)
_LINEBREAK_RE = re.compile(r"([A-Za-z]{2,})(-?)[ \t]*\n(?:[ \t]*\n)*[ \t]*([a-z]{2,})")
_GLUED_RE = re.compile(r"\b([A-Z]?[a-z]{2,})([A-Z][a-z]{2,})\b")


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    replacement: str
    kind: str


def apply_edits(text: str, edits: list[Edit], field: str, prior: list[Correction]) -> tuple[str, list[Correction]]:
    """Apply non-overlapping edits; return the new text and all corrections with offsets into it."""
    edits = sorted(edits, key=lambda e: e.start)
    out: list[str] = []
    new: list[Correction] = []
    pos = 0
    shift = 0
    shifts: list[tuple[int, int]] = []  # (old offset where a shift starts, cumulative shift after it)
    for e in edits:
        if e.start < pos:
            continue
        out.append(text[pos : e.start])
        new_start = e.start + shift
        out.append(e.replacement)
        new.append(
            Correction(
                original=text[e.start : e.end],
                corrected=e.replacement,
                start=new_start,
                end=new_start + len(e.replacement),
                kind=e.kind,
                field=field,
            )
        )
        shift += len(e.replacement) - (e.end - e.start)
        shifts.append((e.end, shift))
        pos = e.end
    out.append(text[pos:])

    def moved(offset: int) -> int:
        s = 0
        for at, cum in shifts:
            if offset >= at:
                s = cum
        return offset + s

    carried = [
        c.model_copy(update={"start": moved(c.start), "end": moved(c.end)}) if c.field == field else c for c in prior
    ]
    return "".join(out), carried + new


@lru_cache(maxsize=1)
def _symspell():
    from importlib.resources import files

    from symspellpy import SymSpell

    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    sym.load_dictionary(str(files("symspellpy") / "frequency_dictionary_en_82_765.txt"), term_index=0, count_index=1)
    return sym


@lru_cache(maxsize=200_000)
def _zipf(word: str) -> float:
    return zipf_frequency(word, "en")


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def proper_nouns(text: str) -> set[str]:
    """Words written with a capital where no sentence starts: names, as the article itself spells them."""
    names: set[str] = set()
    for m in re.finditer(r"(?<![.!?:\"“‘\n]\s)(?<!^)(?<=\s)([A-Z][\w'’-]*)", text):
        before = text[max(0, m.start() - 3) : m.start()]
        if re.search(r"[.!?:\"“‘]\s*$|\n\s*$", before):
            continue
        names.add(m.group(1).strip("'’-").lower())
    return names


def fix_encoding(text: str) -> list[Edit]:
    """Mojibake and stray symbols, found token by token so each repair has its own offsets."""
    edits = []
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        fixed = ftfy.fix_text(tok, normalization="NFC", uncurl_quotes=False, fix_line_breaks=False)
        if fixed != tok:
            edits.append(Edit(m.start(), m.end(), fixed, "mojibake"))
    return edits


def join_broken_words(text: str) -> list[Edit]:
    """``pow`` / ``ers`` over a blank line -> ``powers``; ``govern-`` / ``ment`` -> ``government``."""
    edits = []
    for m in _LINEBREAK_RE.finditer(text):
        left, hyphen, right = m.group(1), m.group(2), m.group(3)
        joined = left + right
        if _zipf(joined.lower()) < KNOWN_ZIPF:
            if hyphen and _zipf(left.lower()) >= KNOWN_ZIPF and _zipf(right.lower()) >= KNOWN_ZIPF:
                edits.append(Edit(m.start(), m.end(), f"{left}-{right}", "hyphenation"))
            continue
        # Both halves real words and the join not clearly better: a genuine line break ("the\nend").
        if not hyphen and min(_zipf(left.lower()), _zipf(right.lower())) >= 3.0 and _zipf(joined.lower()) < 4.0:
            continue
        edits.append(Edit(m.start(), m.end(), joined, "hyphenation" if hyphen else "linebreak"))
    return edits


def split_glued_words(text: str, names: set[str]) -> list[Edit]:
    """``PublishedFebruary`` -> ``Published February`` when the glued form is no word and both parts are."""
    edits = []
    for m in _GLUED_RE.finditer(text):
        a, b = m.group(1), m.group(2)
        whole = (a + b).lower()
        if _zipf(whole) >= KNOWN_ZIPF:
            continue
        if _zipf(a.lower()) >= 3.0 and _zipf(b.lower()) >= 3.0:
            edits.append(Edit(m.start(), m.end(), f"{a} {b}", "glued"))
    return edits


def correct_spelling(text: str, names: set[str], *, custom_words: frozenset[str] = frozenset()) -> list[Edit]:
    from symspellpy import Verbosity

    sym = _symspell()
    edits = []
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        core_m = re.search(r"[A-Za-z][A-Za-z'’]*[A-Za-z]|[A-Za-z]", tok)
        if core_m is None or _PROTECTED_RE.search(tok):
            continue
        word = core_m.group(0)
        lw = word.lower()
        if len(word) < 4 or "'" in word or "’" in word or lw in names or lw in custom_words:
            continue
        if word[1:].lower() != word[1:] and not word.isupper():  # camelCase / McName
            continue
        if word.isupper():  # acronyms and shouting are left alone
            continue
        if _zipf(lw) >= KNOWN_ZIPF:
            continue
        suggestions = sym.lookup(lw, Verbosity.CLOSEST, max_edit_distance=2, transfer_casing=False)
        best = None
        for s in suggestions:
            if s.term == lw or _zipf(s.term) < SUGGESTION_ZIPF:
                continue
            if best is None or (s.distance, -s.count) < (best.distance, -best.count):
                best = s
        if best is None:
            continue
        start = m.start() + core_m.start()
        edits.append(Edit(start, start + len(word), _match_case(word, best.term), "spelling"))
    return edits


def normalize_text(text: str, field: str, names: set[str], prior: list[Correction], custom_words=frozenset()):
    text, prior = apply_edits(text, fix_encoding(text), field, prior)
    text, prior = apply_edits(text, join_broken_words(text), field, prior)
    text, prior = apply_edits(text, split_glued_words(text, names), field, prior)
    text, prior = apply_edits(text, correct_spelling(text, names, custom_words=custom_words), field, prior)
    return text, prior


def normalize(article: Article, *, custom_words: frozenset[str] = frozenset()) -> Article:
    lang, conf = (article.language, article.language_confidence) if article.language else detect(
        f"{article.title}\n{article.body}")
    if lang not in (None, "en"):
        skipped = dict(article.skipped, normalize=f"language {lang} is not supported")
        return article.model_copy(update={"language": lang, "language_confidence": conf, "skipped": skipped})
    names = proper_nouns(article.body)
    corrections: list[Correction] = []
    title, corrections = normalize_text(article.title, "title", names, corrections, custom_words)
    body, corrections = normalize_text(article.body, "body", names, corrections, custom_words)
    return article.model_copy(update={"title": title, "body": body, "corrections": corrections,
                                      "language": lang, "language_confidence": conf})
