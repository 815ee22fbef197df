"""Text helpers shared by the enrichers: sentence spans, words, stop words (computed once per text)."""

from __future__ import annotations

import re
from functools import lru_cache

WORD_RE = re.compile(r"\b\w[\w'’-]*\b")

#: abbreviations whose period does not end a sentence
_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "gen", "sen", "rep", "gov", "col", "lt", "sgt", "capt",
    "maj", "rev", "hon", "no", "vs", "etc", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "e.g", "i.e", "a.m", "p.m", "approx",
}
# A candidate end: terminal punctuation, optional closing quotes/brackets, then white space.
_END_RE = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s)|\n\s*\n|\n")
_OPENING = "\"“‘'([" 


@lru_cache(maxsize=8)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence of ``text``; paragraph breaks always end a sentence."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    for m in _END_RE.finditer(text):
        end = m.end()
        if m.group()[0] not in "\n":
            # the next non-space character must start a sentence
            j = end
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] != "\n" and not (text[j].isupper() or text[j].isdigit() or text[j] in _OPENING):
                continue
            if m.group()[0] == ".":
                word = text[max(start, m.start() - 12):m.start()].rsplit(None, 1)
                last = word[-1].lower().lstrip(_OPENING) if word else ""
                if last in _ABBREV or (len(last) == 1 and last.isalpha()):
                    continue
        _add(text, spans, start, end)
        start = m.end()
    _add(text, spans, start, n)
    return tuple(spans)


def _add(text: str, spans: list[tuple[int, int]], start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English stop words (spaCy's list; spaCy is installed for the tag stage)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(w.lower() for w in STOP_WORDS) | {"’s", "'s"}


def clear_article_caches() -> None:
    """Forget the per-text caches; the enrich stage calls this before each article."""
    sentence_spans.cache_clear()
