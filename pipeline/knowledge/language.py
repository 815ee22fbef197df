"""Languages: detection and the languages the stages support, in one place.

* ``detect``: the ISO 639-1 code of a text's language, with a confidence. English news is full of
  names, tickers and numbers that a character-trigram model reads as other languages ("JP Morgan's
  Hecla Oy unit..." as Finnish), so lingua is the last step, not the first:

  1. **Script**: a text whose letters are mostly not Latin goes straight to lingua (English is Latin).
  2. **Dictionary share**: the lower-case words of the text (names, tickers and numbers are capitalized,
     upper-case or digits, so they are no evidence) are looked up in wordfreq. A word speaks for English
     when it is common in English and not clearly more common in one of the other Latin-script languages
     wordfreq knows ("die", "la", "de" are in English lists too, but far more frequent in German, French,
     Spanish). A text of at least ``MIN_WORDS`` such words, ``ENGLISH_SHARE`` of them English, is English,
     with that share as its confidence.
  3. **lingua** on the text; when it says another language although most lower-case words are English,
     lingua is asked again on the lower-case words alone, and English kept if it agrees.

* ``ENGLISH``: the languages of the English-only parts of the pipeline (the normalize and tag stages, and
  the enrichers registered ``english_only``): English, and ``None``, an article whose language is not
  known (too little text to tell), which is handled as English. ``supports_english`` is the test they
  all apply, and ``not_supported`` the reason each records in the article's ``skipped`` for the others.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: enough text to decide; longer texts only cost time
SAMPLE_CHARS = 1500

#: what the English-only stages and enrichers handle: English, and an unknown language (None)
ENGLISH = frozenset({None, "en"})

#: at least this many lower-case words decide by the dictionary alone ...
MIN_WORDS = 3
#: ... when at least this share of them are English words
ENGLISH_SHARE = 0.6
#: below this share lingua decides alone; between it and ENGLISH_SHARE, lingua is asked twice
MIXED_SHARE = 0.4
#: a word is English when its English Zipf frequency is at least this ...
ENGLISH_ZIPF = 2.5
#: ... and at most this much below its frequency in any of OTHER_LANGUAGES
OTHER_MARGIN = 1.0
#: Latin-script languages whose common words are also in wordfreq's English list (wordfreq "small" lists)
OTHER_LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "sv", "da", "nb", "ca", "ro", "pl", "fi", "tr", "id")
#: with fewer lower-case words than MIN_WORDS (results tables, lists of names), lingua must be this sure,
#: else the language is unknown (None, handled as English): names and scores are no language
SHORT_CONFIDENCE = 0.9
#: the lower-case words read from a text
MAX_WORDS = 200

_LOWER_WORD = re.compile(r"(?<![\w’'-])[a-zà-öø-ÿ][a-zà-öø-ÿ’'-]*(?![\w’'-])")


def supports_english(language: str | None) -> bool:
    """Whether an English-only stage or enricher runs on an article in ``language``."""
    return language in ENGLISH


def not_supported(language: str | None) -> str:
    """The reason recorded in ``skipped`` when a stage or enricher does not run for ``language``."""
    return f"language {language} is not supported"


@lru_cache(maxsize=1)
def _detector():
    from lingua import LanguageDetectorBuilder

    # Low-accuracy mode uses the trigram models only: measured here on the seed, a German and a French
    # text, 70 MB peak RSS instead of 926 MB and 17x less CPU, with the same answers. News articles are
    # long enough for it; lingua's high-accuracy mode pays off only on a few words.
    return LanguageDetectorBuilder.from_all_spoken_languages().with_low_accuracy_mode().build()


@lru_cache(maxsize=65536)
def is_english_word(word: str) -> bool:
    """A lower-case word that is common in English and not clearly another Latin-script language's."""
    from wordfreq import zipf_frequency

    en = zipf_frequency(word, "en")
    if en < ENGLISH_ZIPF:
        return False
    return all(zipf_frequency(word, lang, wordlist="small") <= en + OTHER_MARGIN for lang in OTHER_LANGUAGES)


def lower_words(text: str) -> list[str]:
    """The lower-case words of ``text`` (names, tickers and numbers left out), at most MAX_WORDS."""
    return _LOWER_WORD.findall(text)[:MAX_WORDS]


def english_share(words: list[str]) -> float:
    """The share of ``words`` that are English words (0.0 for none)."""
    return sum(map(is_english_word, words)) / len(words) if words else 0.0


def _mostly_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    latin = sum(1 for c in letters if c <= "\u024f")
    return latin >= 0.5 * len(letters)


def _mostly_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


def _lingua(text: str) -> tuple[str | None, float | None]:
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return None, None
    top = values[0]
    return top.language.iso_code_639_1.name.lower(), round(top.value, 4)


def detect(text: str) -> tuple[str | None, float | None]:
    """ISO 639-1 code and confidence of the text's language; (None, None) when it cannot tell."""
    text = text[:SAMPLE_CHARS]
    if not text.strip():
        return None, None
    if not _mostly_latin(text):
        return _lingua(text)
    words = lower_words(text)
    if len(words) < MIN_WORDS and _mostly_upper(text):
        words = lower_words(text.lower())  # an all-capitals headline: its words are words, not names
    share = english_share(words)
    if len(words) >= MIN_WORDS and share >= ENGLISH_SHARE:
        return "en", round(share, 4)
    if words and len(words) < MIN_WORDS and share == 1.0:
        # a table or a list of names whose few words are all English ("beat", "not out", "and")
        return "en", round(len(words) / (MIN_WORDS + 1), 4)
    lang, conf = _lingua(text)
    if len(words) < MIN_WORDS and lang != "en" and (conf or 0.0) < SHORT_CONFIDENCE:
        return None, None
    if lang != "en" and len(words) >= MIN_WORDS and share >= MIXED_SHARE:
        # names read as their own language: ask again on the lower-case words alone
        lang2, conf2 = _lingua(" ".join(words))
        if lang2 == "en":
            return lang2, conf2
    return lang, conf
