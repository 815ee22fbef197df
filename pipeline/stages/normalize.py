"""Normalize stage: repair scraped text without touching names; record every change.

Repairs, in order: mojibake and stray symbols (ftfy), words broken over line breaks or hyphenation,
words glued together, dictionary misspellings. Each change becomes a ``Correction`` whose offsets point
into the normalized text, so it can be audited or undone.

Names are protected: a word known to ``wordfreq`` (which knows names in the news), a word written
with a capital in the middle of a sentence anywhere in the article, acronyms, numbers, URLs, e-mail
addresses, handles and hashtags are never changed.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import ftfy
from wordfreq import zipf_frequency

from pipeline.knowledge.language import detect, not_supported, supports_english
from schemas import Article, Correction

STAGE = "normalize"
VERSION = "2"

#: a word at or above this Zipf frequency in wordfreq is a real word (or a name) even if no dictionary has it
KNOWN_ZIPF = 3.2
#: an article whose lower-case words (3+ letters) are at least this share English dictionary words is English
#: (at least ENGLISH_MIN_WORDS of them); other articles are left to the language detector
ENGLISH_SHARE = 0.85
ENGLISH_MIN_WORDS = 20
#: a suggested correction must be at least this common
SUGGESTION_ZIPF = 2.0
#: ... and a suggestion for a capitalized or upper-case word at least this common
CAPITALIZED_SUGGESTION_ZIPF = 3.5
#: a capitalized word wordfreq knows at least this well is taken for a name (unless one slip from a word
#: at least FUNCTION_ZIPF common: Tbe, Hge)
CAP_MAX_ZIPF = 1.0
#: words at least this common (the, of, and, he, was, that ...) are the only repairs of a vowelless word
#: (thq, wqs) or of a capitalized word wordfreq knows (Tbe)
FUNCTION_ZIPF = 6.0
#: the longest word that common in wordfreq's English list
FUNCTION_MAX_LEN = 7
#: a lower-case dictionary word rarer than this may be a slip for a FUNCTION_ZIPF word (fromm, vas)
REAL_WORD_SLIP_ZIPF = 3.0
SPLIT_LOGP = 0.0
#: log10 probability of each kind of error (edit distance 1, 2; two words glued)
ERR_LOGP = {1: -2.0, 2: -6.0, "split": SPLIT_LOGP}
#: log10 bonus of a likely slip (swapped letters, a neighbouring key, a doubled or undoubled letter) over
#: ERR_LOGP[1], and malus of any other single-letter slip
LIKELY_SLIP_BONUS = 0.3
OTHER_SLIP_MALUS = 0.3
#: log10 probability of a real word that is in no dictionary (names, jargon, new words)
LOG_P_UNKNOWN = -11.0
#: how much a word's own wordfreq Zipf frequency speaks for keeping it (real rare words are attested)
KEEP_ZIPF_WEIGHT = 1.5
#: a word more common than this in wordfreq is not split in two (airforce, playmaker, newsdesk) unless
#: both parts are function words (tothe, onthe)
SPLIT_MAX_ZIPF = 1.0
#: log10 penalty of a candidate whose first letter differs (bar a swap of the first two)
FIRST_LETTER_LOGP = -2.0
#: no repair when the second-best candidate is this close to the best (log10)
ABSTAIN_GAP = 0.7
#: log10 bonus for keeping a word the article uses more than once (kroons: meant, not a slip)
REPEAT_BONUS = 3.0
#: log10 bonus of a candidate the article uses elsewhere
CONTEXT_BONUS = 1.0
#: words this long get candidates at edit distance 2 (shorter ones: 1)
ED2_MIN_LEN = 4
#: both parts of a glued word must be at least this common (or one of them FUNCTION_ZIPF common and the
#: other, five letters or more, at least SPLIT_RARE_ZIPF common)
SPLIT_RARE_ZIPF = 2.0
SPLIT_ZIPF = 3.0
#: a word wordfreq knows is two words glued only when it is this much rarer (log10) than the phrase (tothe)
GLUE_RARITY = 2.0
#: a repair must beat keeping the word by this much (log10)
MARGIN = 0.0

_WORD_RE = re.compile(r"[A-Za-z][a-z]*(?:'[a-z]+)?|[A-Za-z]+")
_TOKEN_RE = re.compile(r"\S+")
_PROTECTED_RE = re.compile(
    r"^(?:https?://|www\.)|@|^#|\d|[_/\\=<>{}\[\]]|\.[A-Za-z]{2,}|[a-z][A-Z]"
)
# the halves are ASCII words, not the ends of a word with other letters (Lüde / ritz is no broken "deritz")
_LINEBREAK_RE = re.compile(r"(?<![\w-])([A-Za-z]{2,})(-?)[ \t]*\n(?:[ \t]*\n)*[ \t]*([a-z]{2,}|[A-Z]{2,})(?!\w)")
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


def _data_file(name: str) -> str:
    from importlib.resources import files

    return str(files("symspellpy") / name)


@lru_cache(maxsize=1)
def _symspell():
    """symspellpy with its bundled dictionary: Google Books frequencies of the SCOWL word list, so every
    entry is a real word (misspellings are not in it, unlike frequency lists built from raw text)."""
    from symspellpy import SymSpell

    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    sym.load_dictionary(_data_file("frequency_dictionary_en_82_765.txt"), term_index=0, count_index=1)
    return sym


@lru_cache(maxsize=1)
def _bigrams() -> tuple[dict[str, int], dict[str, int]]:
    """symspellpy's bundled bigram counts, and the total count of each left word: P(b | a) for context."""
    pairs: dict[str, int] = {}
    left: dict[str, int] = {}
    with open(_data_file("frequency_bigramdictionary_en_243_342.txt"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 3:
                continue
            a, b, n = parts[0], parts[1], int(parts[2])
            pairs[f"{a} {b}"] = n
            left[a] = left.get(a, 0) + n
    return pairs, left


@lru_cache(maxsize=200_000)
def _zipf(word: str) -> float:
    return zipf_frequency(word, "en")


def _words() -> dict[str, int]:
    return _symspell().words


#: suffix -> what the stem ends with instead (inflections and derivations of dictionary words)
_SUFFIXES = (("s", ""), ("es", ""), ("ies", "y"), ("ed", ""), ("ed", "e"), ("ied", "y"), ("ing", ""), ("ing", "e"),
             ("er", ""), ("er", "e"), ("ers", ""), ("ers", "e"), ("est", ""), ("ly", ""), ("ily", "y"), ("ness", ""),
             ("ment", ""), ("ments", ""), ("ism", ""), ("ist", ""), ("ists", ""), ("ation", "e"), ("able", ""))
_PREFIXES = ("un", "re", "non", "pre", "post", "over", "under", "anti", "counter", "co", "mis", "out", "sub",
             "super", "inter", "multi", "semi", "self", "ex", "de", "dis", "mid", "pro", "neo", "micro", "mega")


@lru_cache(maxsize=200_000)
def is_known(lw: str) -> bool:
    """A real word (or a name common enough to be one): never corrected.

    In the dictionary; common in wordfreq's lists (names and brands in the news); or a regular inflection,
    derivation or prefixed form of a dictionary word (``swelters`` <- ``swelter``) that is not a misspelt
    doubling (``occured``: ``occurred`` is the word)."""
    words = _words()
    if lw in words or _zipf(lw) >= KNOWN_ZIPF:
        return True
    if "-" in lw:
        return all(p and is_known(p) for p in lw.split("-"))
    if _headed_compound(lw) or _spelling_variant(lw):
        return True
    for suf in ("ed", "ing", "er", "ers"):
        stem = lw[: -len(suf)]
        if lw.endswith(suf) and stem.endswith("ll") and len(stem) >= 6 and stem[:-1] in words:
            return True  # initialling, labelled: British spelling doubles a final l
    attested = _zipf(lw) > 0
    # derived forms must at least be attested (pointss, preices are not), bar the plainest derivations of
    # common words (waxier, airers)
    for suf, repl in (_SUFFIXES if attested else _UNATTESTED_SUFFIXES):
        if lw.endswith(suf) and len(lw) - len(suf) >= 3:
            stem = lw[: -len(suf)]
            if stem + repl in words and (attested or _zipf(stem + repl) >= UNATTESTED_STEM_ZIPF):
                if suf[0] in "ei" and len(stem) >= 2 and stem + stem[-1] + suf in words and stem[-1] != "l":
                    return False  # occured / begining: the doubled form is the word (initialed, leveled: US)
                if suf[0] in "ei" and len(stem) >= 3 and stem[-1] == stem[-2] and stem[:-1] + suf in words:
                    return False  # the undoubled form is the word
                if stem.endswith("e") and stem[:-1] + suf in words:
                    return False  # includeing, arguement, truely: including, argument, truly are the words
                if suf == "s" and stem.endswith(("s", "x", "z", "ch", "sh")):
                    return False  # matchs: matches is the plural
                if _zipf(stem + repl) >= FUNCTION_ZIPF or (suf in ("ist", "ists", "ism") and len(stem) < 4):
                    continue  # theer, boths: function words take no suffix; agaist is no aga-ist
                if _likelier_slip(lw, stem):
                    return False  # intrest, generaly, monts: interest, generally, months are one slip away
                return True
    for pre in _PREFIXES:
        if lw.startswith(pre) and len(lw) - len(pre) >= 5 and lw[len(pre):] in words:
            rest = lw[len(pre):]
            # an unattested one (nonemergencies, supersample) when its word is common and the two are no
            # phrase that could have been glued (underpressure)
            if attested or (_zipf(rest) >= SPLIT_ZIPF and f"{pre} {rest}" not in _bigrams()[0]):
                return True
    return False


#: derivations of a common word (Zipf >= UNATTESTED_STEM_ZIPF) that are words even when no list has them
_UNATTESTED_SUFFIXES = (("ier", "y"), ("iest", "y"), ("er", ""), ("er", "e"), ("ers", ""), ("ers", "e"))
UNATTESTED_STEM_ZIPF = 2.5
#: (US ending, UK ending): glamor / glamour, meager / meagre, analyze / analyse, catalog / catalogue
_VARIANT_ENDINGS = (("or", "our"), ("ors", "ours"), ("er", "re"), ("ers", "res"), ("ize", "ise"), ("izes", "ises"),
                    ("ized", "ised"), ("izing", "ising"), ("ization", "isation"), ("yze", "yse"), ("yzed", "ysed"),
                    ("og", "ogue"), ("ogs", "ogues"), ("ense", "ence"), ("eled", "elled"), ("eling", "elling"))
#: a spelling variant must be at least this common in wordfreq (a writer's spelling, not a one-off slip)
VARIANT_ZIPF = 1.5
#: closed compounds of a common word and one of these (hairlike, weeklong, monthslong, chipmaking, cashierless)
KNOWN_HEADS = ("making", "maker", "makers", "based", "backed", "owned", "wide", "free", "proof", "like", "long",
               "less")


def _spelling_variant(lw: str) -> bool:
    """The US or UK spelling of a dictionary word: a variant, not a typo (glamor, meager, colour)."""
    if _zipf(lw) < VARIANT_ZIPF:
        return False
    words = _words()
    for us, uk in _VARIANT_ENDINGS:
        for a, b in ((us, uk), (uk, us)):
            if lw.endswith(a) and len(lw) - len(a) >= 3 and lw[: -len(a)] + b in words:
                return True
    return False


def _headed_compound(lw: str) -> bool:
    """A common word closed up with a compound head (hairlike, weeklong, monthslong): not a misspelling,
    unless the first part is a function word (thelike is two words glued)."""
    for head in KNOWN_HEADS:
        if lw.endswith(head) and len(lw) - len(head) >= 3:
            stem = lw[: -len(head)]
            return stem in _words() and SPLIT_ZIPF <= _zipf(stem) < FUNCTION_ZIPF
    return False


#: a derived form is a slip when a word one edit away is this much more common (log10; swelters stays
#: beside shelters, 2.6 more common)
SLIP_NEIGHBOUR_GAP = 3.0


def _likelier_slip(lw: str, stem: str) -> bool:
    """A dictionary word one edit from ``lw``, not built on the same stem, far more common than ``lw``."""
    z = _zipf(lw)
    same_stem = {stem + end for end in ("", "s", "es", "ed", "ing", "er", "ers", "y", "e", "es")}
    return any(s.distance == 1 and s.term not in same_stem and _zipf(s.term) >= z + SLIP_NEIGHBOUR_GAP
               for s in _lookup(lw))


def _logp_uni(w: str) -> float:
    z = _zipf(w)
    return (z if z > 0 else 1.0) - 9.0


def _logp(prev: str | None, w: str) -> float:
    """log10 P(w | prev): bigram relative frequency, stupid backoff to the unigram."""
    if prev is not None:
        pairs, left = _bigrams()
        n = pairs.get(f"{prev} {w}")
        if n:
            return math.log10(n / left[prev])
        return _logp_uni(w) - 0.4
    return _logp_uni(w)

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
        word = m.group(1).strip("'’-")
        if not (word.isupper() and len(word) > 1):  # shouting is no evidence of a name
            names.add(word.lower())
    return names


def fix_encoding(text: str) -> list[Edit]:
    """Mojibake and stray symbols, found token by token so each repair has its own offsets."""
    edits = []
    if text.isascii():  # mojibake and stray symbols are never plain ASCII
        return edits
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        if tok.isascii():
            continue
        fixed = ftfy.fix_text(tok, normalization="NFC", uncurl_quotes=False, fix_line_breaks=False)
        if fixed != tok:
            edits.append(Edit(m.start(), m.end(), fixed, "mojibake"))
    return edits


def _linebreak_matches(text: str):
    """Matches of _LINEBREAK_RE that may share a word: in CONFERENCE / NORTH- / EAST the second break is
    tried too (the right half of one match is the left half of the next)."""
    pos = 0
    while (m := _LINEBREAK_RE.search(text, pos)) is not None:
        yield m
        pos = m.start(3)


def join_broken_words(text: str, prior: list[tuple[int, int]] = ()) -> list[Edit]:
    """``pow`` / ``ers`` over a blank line -> ``powers``; ``govern-`` / ``ment`` -> ``government``.

    Joined when the join is a word and the halves are not both words more likely apart (``the`` / ``end``
    stays); a hyphen over a line break stays when the joined form is no word (``well-`` / ``known``)."""
    edits = []
    for m in _linebreak_matches(text):
        if any(s < m.end() and e > m.start() for s, e in prior):
            continue
        left, hyphen, right = m.group(1), m.group(2), m.group(3)
        if right.isupper() != left.isupper() and not (left[0].isupper() and left[1:].islower() and right.islower()):
            continue
        if not (left.islower() or left.isupper() or left[1:].islower()):
            continue
        joined = left + right
        lj, ll, lr = joined.lower(), left.lower(), right.lower()
        if not is_known(lj):
            if hyphen and is_known(ll) and is_known(lr):
                edits.append(Edit(m.start(), m.end(), f"{left}-{right}", "hyphenation"))
            continue
        blank_line = m.group(0).count("\n") > 1  # no paragraph starts in lower case: a broken word
        if not hyphen and not blank_line and is_known(ll) and is_known(lr):
            # Both halves are words: join only when the whole is much likelier than the pair.
            if _logp_uni(lj) < _logp_uni(ll) + _logp(ll, lr) + 1.0:
                continue
        edits.append(Edit(m.start(), m.end(), joined, "hyphenation" if hyphen else "linebreak"))
    return edits


def split_glued_words(text: str, names: set[str]) -> list[Edit]:
    """``PublishedFebruary`` -> ``Published February``: a CamelCase word no list knows (brands such as
    ``BellSouth`` or ``YouTube`` are known to wordfreq), seen once, made of two common words."""
    edits = []
    for m in _GLUED_RE.finditer(text):
        a, b = m.group(1), m.group(2)
        whole = (a + b).lower()
        if _zipf(whole) > 0 or text.count(m.group(0)) > 1:
            continue
        if a[0].isupper() and b.lower() not in _CALENDAR and min(_zipf(a.lower()), _zipf(b.lower())) < FUNCTION_ZIPF:
            continue  # BankWatch, CheckFree, MoreBikes: brands are coined so; a date or "InThe" is glued
        if a.lower() in _words() and b.lower() in _words() and _zipf(a.lower()) >= 3.0 and _zipf(b.lower()) >= 3.0:
            edits.append(Edit(m.start(), m.end(), f"{a} {b}", "glued"))
    return edits


#: a word: letters of any script (Tšosane, Ólafur, façade are one word each), apostrophes, soft hyphens and
#: zero-width joiners inside (Netan\u00adyahu is one word)
_WORD_TOKEN_RE = re.compile("[^\\W\\d_]+(?:['’\u00ad\u200b-\u200d\u2060][^\\W\\d_]+)*")
_SENTENCE_END_RE = re.compile(r"(?:[.!?:•|]|^|\n)\s*[\"“‘(\[]?\s*$")
_ABBREV_END_RE = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Col|Lt|Sgt|Capt|Prof|Jr|Sr|No))\.\s*$")
_VOWEL_RE = re.compile(r"[aeiouy]")
_CALENDAR = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
             "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _calendar_split(lw: str) -> str | None:
    """Fridayin, Octobergame: a month or day name glued to a common word, the whole known to no list
    (Maybank, a bank; Marchal, a name)."""
    if _zipf(lw) > 0:
        return None
    for cal in _CALENDAR:
        if lw.startswith(cal) and len(lw) > len(cal) + 1:
            rest = lw[len(cal):]
            if rest in _words() and _zipf(rest) >= (5.0 if len(rest) >= 3 else FUNCTION_ZIPF):
                return f"{cal} {rest}"
    return None


#: a word this common is no slip for a month or day name
CALENDAR_SLIP_MAX_ZIPF = 2.0


def _calendar_slip(lw: str) -> str | None:
    """A month or day name (six letters or more) one slip from ``lw``, a word no list knows well
    (Setpember; Saterday, Febuary: misspellings common enough for wordfreq to have seen them)."""
    if len(lw) < 6 or _zipf(lw) >= CALENDAR_SLIP_MAX_ZIPF:
        return None
    for s in _lookup(lw):
        if s.distance == 1 and len(s.term) >= 6 and s.term in _CALENDAR:
            return s.term
    return None


@lru_cache(maxsize=1)
def _function_words() -> tuple[str, ...]:
    """The very common words (Zipf >= FUNCTION_ZIPF: the, of, and, was, because ...), from wordfreq."""
    from wordfreq import top_n_list

    return tuple(w for w in top_n_list("en", 500) if w.isalpha() and _zipf(w) >= FUNCTION_ZIPF)


@lru_cache(maxsize=50_000)
def _near_function_word(lw: str) -> bool:
    """One likely slip (swapped letters, a neighbouring key, a doubled letter) from a very common word."""
    if len(lw) > FUNCTION_MAX_LEN + 1:
        return False  # very common words are short (because, people: 7 letters)
    return any(abs(len(w) - len(lw)) <= 1 and w != lw and _slip_logp(lw, w, 1) > ERR_LOGP[1]
               for w in _function_words())


def _function_split(lw: str) -> bool:
    """Two very common words glued together (ofthe, itis, butthe)."""
    return any(_zipf(lw[:i]) >= FUNCTION_ZIPF and _zipf(lw[i:]) >= FUNCTION_ZIPF for i in range(1, len(lw)))


#: after an upper-case word: more upper-case words on the line, then figures or a parenthesis; or a comma
_TABLE_AFTER_RE = re.compile(r"(?:[ \t]+[A-Z][A-Z'.&-]*)*[ \t]+[\d(]|,")
_QUOTED_RE = re.compile(r"[\"“«„]([^\"”»“\n]{3,300})[\"”»“]")


def _protected_spans(text: str) -> list[tuple[int, int]]:
    """Whitespace tokens never touched (URLs, e-mails, handles, hashtags, numbers, code-like) and quoted
    passages that are mostly unknown words (quotes in another language)."""
    spans = []
    for m in _TOKEN_RE.finditer(text):
        if _PROTECTED_RE.search(m.group(0).strip(".,;:!?()\"“”‘’'")):
            spans.append((m.start(), m.end()))
    for m in _QUOTED_RE.finditer(text):
        ws = [w.lower() for w in _WORD_TOKEN_RE.findall(m.group(1))]
        if len(ws) >= 2 and sum(1 for w in ws if is_known(w)) < 0.6 * len(ws):
            spans.append((m.start(), m.end()))
    return spans


#: heads of closed compounds the dictionaries lack (chipmaking, chipmaker, taxpayer-funded style
#: coinages): a word ending in one of them is a compound, not two words glued together
COMPOUND_HEADS = ("making", "maker", "makers", "based", "backed", "owned", "led", "run", "wide", "free", "proof",
                  "ware", "like", "style")


@lru_cache(maxsize=50_000)
def _split_candidates(lw: str) -> tuple[tuple[str, str], ...]:
    words = _words()
    out = []
    if any(lw.endswith(h) and len(lw) - len(h) >= 3 for h in COMPOUND_HEADS):
        return ()
    for i in range(1, len(lw)):
        a, b = lw[:i], lw[i:]
        if (len(a) > 1 or a in ("a", "i")) and (len(b) > 1 or b == "a") and a in words and b in words \
                and _VOWEL_RE.search(a) and _VOWEL_RE.search(b):  # la str, the st: no abbreviations
            za, zb = _zipf(a), _zipf(b)
            if za >= SPLIT_ZIPF and zb >= SPLIT_ZIPF:
                out.append((a, b))
            elif max(za, zb) >= FUNCTION_ZIPF and min(len(a), len(b)) >= 2 and min(za, zb) >= SPLIT_RARE_ZIPF \
                    and len(a if za < zb else b) >= 5:
                out.append((a, b))  # a very common word glued to a rarer one: tocapitalise, theincursion
    return tuple(out)


@dataclass
class Choice:
    replacement: str
    kind: str
    gain: float
    slip_adjust: float = 0.0


def best_repair(lw: str, prev: str | None, nxt: str | None, seen: Counter,
                min_zipf: float | None = None, capitalized: bool = False, split: bool = True) -> Choice | None:
    """The most likely intended text for an unknown lower-case word, in context, if clearly better."""
    from symspellpy import Verbosity

    # Keeping the word: a real word the dictionary lacks; likelier when the article uses it again.
    z = _zipf(lw)
    keep = LOG_P_UNKNOWN + KEEP_ZIPF_WEIGHT * z + (REPEAT_BONUS if seen[lw] > 1 else 0.0)
    choices: list[Choice] = []
    for s in _lookup(lw):
        if min_zipf is not None and s.distance > 1:
            continue  # capitalized words: one slip at most (Simec is no misspelt Some)
        if s.term == lw or _zipf(s.term) < (SUGGESTION_ZIPF if min_zipf is None else min_zipf):
            continue
        if s.term == prev:
            continue  # "the thn": no repair makes a word twice in a row
        if lw == s.term + "s" and len(s.term) >= 6 and not s.term.endswith("s"):
            continue  # deferreds: the plural the writer meant (jargon), not a stray letter
        slip = _slip_logp(lw, s.term, s.distance)
        alike = _sounds_alike(lw, s.term)
        score = (slip + (SOUND_ALIKE_BONUS if alike else 0.0) + _logp(prev, s.term) + (_logp(s.term, nxt) if nxt else 0.0)
                 + (CONTEXT_BONUS if seen[s.term] else 0.0))
        if s.term[0] != lw[0] and s.term[:2] != lw[1::-1]:
            score += FIRST_LETTER_LOGP  # typists rarely get the first letter wrong
        # The kind of slip ranks the candidates; whether to change the word at all is judged on distance.
        # two edits that keep the sound are judged likelier, unless the word is two words closed up
        # (smallsat is no slip for smallest)
        judged = ERR_LOGP[s.distance]
        if alike and s.distance > 1 and not _split_candidates(lw):
            judged = max(judged, SOUND_ALIKE_LOGP)
        # (the sound ranks candidates; whether to change the word is judged without its bonus)
        choices.append(Choice(s.term, "spelling", score, judged - slip - (SOUND_ALIKE_BONUS if alike else 0.0)))
    one_slip = any(s.distance == 1 for s in _lookup(lw))
    for a, b in (_split_candidates(lw) if seen[lw] <= 1 and split else ()):  # taxidriver twice: the writer's spelling
        if z > SPLIT_MAX_ZIPF and min(_zipf(a), _zipf(b)) < 5.5 \
                and (max(_zipf(a), _zipf(b)) < FUNCTION_ZIPF or one_slip):
            # an attested compound (airforce), unless glued from two function words (tothe) or with one
            # when no word is a slip away (readyto; forcast is a slip for forecast, no "for cast")
            continue
        if capitalized and f"{a} {b}" not in _bigrams()[0]:
            continue  # capitalized: Seasongood, Inexhibit are names; Butthe, Prisonofficials are glued phrases
        if z >= SPLIT_MAX_ZIPF and z > _zipf(a) + _logp(a, b) - GLUE_RARITY:
            continue  # rollout, restrictor: the closed-up form is too common to be a slip for the phrase
        score = ERR_LOGP["split"] + _logp(prev, a) + _logp(a, b) + (_logp(b, nxt) if nxt else 0.0)
        choices.append(Choice(f"{a} {b}", "glued", score))
    if not choices:
        return None
    choices.sort(key=lambda c: c.gain, reverse=True)
    best = choices[0]
    if len(choices) > 1 and best.gain - choices[1].gain < ABSTAIN_GAP:
        return None  # two readings about as likely: leave it to a human
    base = keep + ((_logp_uni(nxt) - 0.4) if nxt else 0.0)
    best.gain += best.slip_adjust - base
    return best if best.gain >= MARGIN else None


#: log10 bonus, in ranking, of a candidate that sounds like the word typed (wich: which, not with; writers
#: spell by ear), and the log10 probability such a slip is judged at (two edits: seperete, tommorow)
SOUND_ALIKE_BONUS = 1.0
SOUND_ALIKE_LOGP = -4.0


@lru_cache(maxsize=200_000)
def _sound(w: str) -> str:
    import jellyfish

    return jellyfish.metaphone(w)


def _sounds_alike(typed: str, meant: str) -> bool:
    """The same Metaphone key and the same first letter (a typist's slip rarely keeps the sound)."""
    return typed[0] == meant[0] and len(typed) >= 4 and _sound(typed) == _sound(meant)


#: contractions written without their apostrophe (frequent on the web, so wordfreq knows them), where the
#: bare form is no English word (cant, wont, hell, shell, well stay)
_CONTRACTIONS = {"im": "I'm", "ive": "I've", "dont": "don't", "doesnt": "doesn't", "didnt": "didn't",
                 "isnt": "isn't", "wasnt": "wasn't", "arent": "aren't", "werent": "weren't", "hasnt": "hasn't",
                 "havent": "haven't", "couldnt": "couldn't", "wouldnt": "wouldn't", "shouldnt": "shouldn't",
                 "youre": "you're", "theyre": "they're", "youve": "you've", "theyve": "they've"}


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_POS = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}


def _adjacent_keys(a: str, b: str) -> bool:
    """Neighbours on a QWERTY keyboard (same row or the row above or below, staggered)."""
    if a not in _KEY_POS or b not in _KEY_POS:
        return False
    (ra, ca), (rb, cb) = _KEY_POS[a], _KEY_POS[b]
    if ra == rb:
        return abs(ca - cb) == 1
    if abs(ra - rb) == 1:
        upper, lower = (ca, cb) if ra < rb else (cb, ca)
        return lower - upper in (0, -1)  # a row is shifted about half a key right of the one above
    return False


def _slip_logp(typed: str, meant: str, distance: int) -> float:
    """log10 P(typed | meant) for one slip: typists swap neighbouring letters, hit a neighbouring key,
    double or drop a doubled letter far more often than they make any other single-letter error."""
    if distance != 1:
        return ERR_LOGP[distance]
    likely, other = ERR_LOGP[1] + LIKELY_SLIP_BONUS, ERR_LOGP[1] - OTHER_SLIP_MALUS
    lt, lm = len(typed), len(meant)
    if lt == lm:
        diffs = [k for k in range(lt) if typed[k] != meant[k]]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and typed[diffs[0]] == meant[diffs[1]] \
                and typed[diffs[1]] == meant[diffs[0]]:
            return likely  # transposition: nwo / now
        if len(diffs) == 1:
            k = diffs[0]
            return likely if _adjacent_keys(typed[k], meant[k]) else other  # haa / has
        return other
    if lt == lm + 1:  # a letter too many
        for k in range(lt):
            if typed[:k] + typed[k + 1:] == meant:
                extra, around = typed[k], typed[max(0, k - 1) : k] + typed[k + 1 : k + 2]
                if any(extra == c or _adjacent_keys(extra, c) for c in around):
                    return likely  # fromm, lastr: a doubled key or a neighbouring key struck with it
        return other
    if lm == lt + 1:  # a letter missing
        for k in range(lm):
            if meant[:k] + meant[k + 1:] == typed:
                if meant[k] in meant[max(0, k - 1) : k] + meant[k + 1 : k + 2]:
                    return likely  # a doubled letter typed once: ocur / occur
        return other
    return other


@lru_cache(maxsize=50_000)
def _lookup(lw: str):
    from symspellpy import Verbosity

    return tuple(_symspell().lookup(lw, Verbosity.ALL, max_edit_distance=2 if len(lw) >= ED2_MIN_LEN else 1,
                                    transfer_casing=False))


def correct_spelling(text: str, names: set[str], *, custom_words: frozenset[str] = frozenset(),
                     title: bool = False, seen: Counter | None = None,
                     prior: list[tuple[int, int]] = ()) -> list[Edit]:
    """Misspellings and glued lower-case words, ranked by frequency and context; names never touched."""
    seen = seen if seen is not None else Counter(w.lower() for w in _WORD_TOKEN_RE.findall(text))
    protected = sorted(_protected_spans(text) + list(prior))
    tokens = list(_WORD_TOKEN_RE.finditer(text))
    title_case = title and sum(t.group(0)[:1].isupper() for t in tokens) >= 0.7 * max(1, len(tokens))
    caps_text = sum(t.group(0).isupper() for t in tokens) >= 0.6 * max(1, len(tokens))
    edits = []
    pi = 0
    for i, m in enumerate(tokens):
        word = m.group(0)
        start, end = m.start(), m.end()
        if word[-2:] in ("'s", "’s") and "'" not in word[:-2] and "’" not in word[:-2]:
            word, end = word[:-2], end - 2  # regsion's: the word before the possessive
        if word in _CONTRACTIONS and (start == 0 or text[start - 1] in " \t\n\"“(") \
                and text[end : end + 1] in ("", " ", ",", ".", "\n", "?", "!", "\"", "”") \
                and not any(s < end and e > start for s, e in protected):
            edits.append(Edit(start, end, _CONTRACTIONS[word], "spelling"))
            continue  # im, dont: common on the web, a contraction without its apostrophe in running text
        if len(word) < 3 or "'" in word or "’" in word:
            continue
        lw = word.lower()
        if lw in custom_words or not word.isascii():
            continue  # letters outside ASCII: a name or a borrowed word (Tšosane, Ólafur, façade), never English slips
        # Only a word the dictionary lacks: "ofthe", common on the web, is two function words glued.
        glued_function = lw not in _words() and _function_split(lw)
        # A rare dictionary word in lower case may be a slip for a very common one (fromm, vas)
        real_word_slip = (word.islower() and _zipf(lw) < REAL_WORD_SLIP_ZIPF and _VOWEL_RE.search(lw) is not None
                          and _near_function_word(lw))
        if is_known(lw) and not glued_function and not real_word_slip:
            continue
        while pi < len(protected) and protected[pi][1] <= start:
            pi += 1
        if any(s < end and e > start for s, e in protected[pi : pi + 3]):
            continue
        if text[end : end + 1] in ("-", "_", "@", ".", "/") and text[end + 1 : end + 2].isalnum():
            continue  # part of a compound, code-like or dotted token
        if start and (text[start - 1] in "-_@#/." and text[start - 2 : start - 1].isalnum()):
            continue
        before = text[max(0, start - 6) : start]
        initial = start == 0 or (bool(_SENTENCE_END_RE.search(before)) and not _ABBREV_END_RE.search(
            text[max(0, start - 8) : start]))
        nxt_m = tokens[i + 1] if i + 1 < len(tokens) else None
        gap_after = text[end : nxt_m.start()] if nxt_m else ""
        min_zipf = FUNCTION_ZIPF if real_word_slip and is_known(lw) else None
        split = True
        if word.islower():
            if not _VOWEL_RE.search(lw):
                min_zipf = FUNCTION_ZIPF  # bln, dtp: abbreviations, unless a slip for a very common word (thq)
            prev_w = tokens[i - 1].group(0) if i else ""
            if prev_w[:1].isupper() and nxt_m and nxt_m.group(0)[:1].isupper() and len(word) <= 5 \
                    and text[tokens[i - 1].end() : start].strip() == "" and gap_after.strip() == "":
                # Gazzetta dello Sport, Ludwig van Beethoven: a particle inside a name, unless a slip for a
                # very common word (France anid Spain)
                min_zipf = FUNCTION_ZIPF
        elif word[0].isupper() and word[1:].islower():
            # Capitalized: a name unless it starts a sentence (or is a word of a title in title case),
            # is not a name the article uses, and is not followed by more names or figures (tables).
            if seen[lw] > 1:
                continue
            dated = _calendar_split(lw)
            if dated is not None:  # Fridayin, Januaryto: a date glued to the next word
                edits.append(Edit(start, end, _match_case(word, dated), "glued"))
                continue
            if not (initial or title_case):
                # (used once, so "names" has it only from here)
                slip = _calendar_slip(lw)
                if slip is not None:  # in Setpember: a month no list spells so, one slip from a month name
                    edits.append(Edit(start, end, _match_case(word, slip), "spelling"))
                continue
            if lw in names:
                continue
            min_zipf = CAPITALIZED_SUGGESTION_ZIPF
            headline = title_case  # a Title Case headline word the body never uses: judged as a word
            if _zipf(lw) >= CAP_MAX_ZIPF and not headline:
                # wordfreq knows it: a name more likely than a slip, unless one slip from a very common word
                # (Tbe, Hge, Ethe are web slips for The, He) or two of them glued (Butthe)
                min_zipf = FUNCTION_ZIPF
            after = text[end : end + 3]
            if re.match(r"\s+[\d(]", after) or (nxt_m and nxt_m.group(0)[:1].isupper() and not title_case
                                                and gap_after.strip() == ""):
                # A name in a table or followed by more names, unless it is a month (Auguest 1996).
                choice = best_repair(lw, None, None, seen)
                if choice is not None and choice.replacement in _CALENDAR:
                    edits.append(Edit(start, end, _match_case(word, choice.replacement), "spelling"))
                continue
        elif word.isupper():
            # Upper case: a headline word, or shouting in a sentence (then only long words: ISEAS, an
            # acronym, stays); never in parentheses.
            if lw in names or text[start - 1 : start] == "(":
                continue
            short = len(word) < (5 if caps_text else 7)
            if short and not (caps_text and _VOWEL_RE.search(lw) and _near_function_word(lw)):
                continue  # an acronym, unless a headline slip for a very common word (OFO, ANDD)
            if _TABLE_AFTER_RE.match(text, end):
                # A name in a table (SKODA 1045.56, KABLO KLADNO 960.00, EUROMARK (SEP)) or a dateline
                # (ABERDEEN, Scotland)
                continue
            min_zipf = FUNCTION_ZIPF if short else CAPITALIZED_SUGGESTION_ZIPF
            split = caps_text  # MIDFLORIDA in a sentence is a brand; a glued pair only in a shouted headline
        else:
            continue  # mixed case: McName, iPhone, camelCase code
        prev_m = tokens[i - 1] if i else None
        prev = prev_m.group(0).lower() if prev_m and text[prev_m.end() : start].strip() == "" and not initial else None
        nxt = nxt_m.group(0).lower() if nxt_m and gap_after.strip() == "" else None
        # A capitalized word is only ever a common word misspelt: rarer candidates are likelier names.
        choice = best_repair(lw, prev, nxt, seen, min_zipf, word[0].isupper() and word[1:].islower(), split)
        if choice is None:
            continue
        edits.append(Edit(start, end, _match_case(word, choice.replacement), choice.kind))
    return edits


def _spans(corrections: list[Correction], field: str) -> list[tuple[int, int]]:
    return [(c.start, c.end) for c in corrections if c.field == field]


def normalize_text(text: str, field: str, names: set[str], prior: list[Correction], custom_words=frozenset(),
                   seen: Counter | None = None):
    text, prior = apply_edits(text, fix_encoding(text), field, prior)
    text, prior = apply_edits(text, join_broken_words(text, _spans(prior, field)), field, prior)
    text, prior = apply_edits(text, split_glued_words(text, names), field, prior)
    edits = correct_spelling(text, names, custom_words=custom_words, title=field == "title", seen=seen,
                             prior=_spans(prior, field))
    text, prior = apply_edits(text, edits, field, prior)
    return text, prior


def _language(article: Article) -> tuple[str | None, float | None]:
    """Plain English news is recognised from its words (cheap: lingua costs ~11 ms an article); anything
    else goes to lingua. The confidence of the shortcut is the share of English dictionary words."""
    words = _WORD_TOKEN_RE.findall(article.body[:3000])
    long_words = [w for w in words if len(w) >= 3 and w.islower()][:300]  # names are no evidence
    if long_words:
        share = sum(1 for w in long_words if w in _words()) / len(long_words)
        if len(long_words) >= ENGLISH_MIN_WORDS and share >= ENGLISH_SHARE:
            return "en", round(share, 4)
        if 8 <= len(long_words) < ENGLISH_MIN_WORDS and share >= 0.95:
            return "en", round(share, 4)  # tables and short items: few words, all English
    lang, conf = detect(f"{article.title}\n{article.body}")
    if lang != "en" and len(long_words) >= 5:
        # Results tables are mostly names, which lingua reads as the players' language: ask again on the
        # lower-case words alone (names are no evidence), and keep English if both agree it is likelier.
        lower = " ".join(w for w in words if w.islower())
        lang2, conf2 = detect(lower)
        if lang2 == "en" and conf2 is not None and conf2 >= 0.9:
            return lang2, conf2
    return lang, conf


def normalize(article: Article, *, custom_words: frozenset[str] = frozenset()) -> Article:
    lang, conf = (article.language, article.language_confidence) if article.language else _language(article)
    if not supports_english(lang):
        skipped = dict(article.skipped, normalize=not_supported(lang))
        return article.model_copy(update={"language": lang, "language_confidence": conf, "skipped": skipped})
    names = proper_nouns(article.body)
    seen = Counter(w.lower() for w in _WORD_TOKEN_RE.findall(article.title))
    seen.update(w.lower() for w in _WORD_TOKEN_RE.findall(article.body))
    corrections: list[Correction] = []
    title, corrections = normalize_text(article.title, "title", names, corrections, custom_words, seen)
    body, corrections = normalize_text(article.body, "body", names, corrections, custom_words, seen)
    return article.model_copy(update={"title": title, "body": body, "corrections": corrections,
                                      "language": lang, "language_confidence": conf})


def undo(text: str, corrections: list[Correction], field: str = "body") -> str:
    """The text before normalization, from the normalized text and its corrections."""
    for c in sorted((c for c in corrections if c.field == field), key=lambda c: c.start, reverse=True):
        text = text[: c.start] + c.original + text[c.end :]
    return text


def warm_up() -> None:
    _symspell()
    _bigrams()
    is_known("the")
    _zipf("the")
    detect("The minister said on Monday that the talks would resume next week.")


def load_custom_words(settings) -> frozenset[str]:
    """``custom_words`` and the words of ``custom_words_file`` (one a line, # comments), lower case."""
    words = {w.strip().lower() for w in settings.custom_words if w.strip()}
    path = getattr(settings, "custom_words_file", None)
    if path:
        from pathlib import Path

        from pipeline.errors import ConfigError

        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"custom_words_file {path}: {exc.strerror or exc}") from None
        words.update(ln.split("#", 1)[0].strip().lower() for ln in lines if ln.split("#", 1)[0].strip())
    return frozenset(words)
