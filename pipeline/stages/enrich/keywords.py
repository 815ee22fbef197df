"""Keywords: ranked key phrases of the article, TF-IDF over stop-word-delimited candidate phrases.

Candidates are the runs of content words between punctuation, stop words (spaCy's English list),
numbers, verb-like words and the words of person and organisation names (RAKE's way of cutting a
text into phrases); every one- to three-word piece of a run is a candidate. A phrase scores

    (its count + half the mean count of its words) x mean IDF of its words x length bonus x lead bonus

where a word's IDF is its rarity in general English: 8 - its Zipf frequency from wordfreq (the
frequency lists shipped in the wordfreq wheel), so "ceasefire" outweighs "week". YAKE (the yake and
yake-rust packages) was measured first: 55 ms and 3-5 ms an article, and on news it ranks names
and Title Cased fragments first ("Jazeera reports", "President Donald"); this runs in well under a
millisecond and ranks the topic words ("peace talks", "container ships").

Headline phrases count when the body uses all their words ("Ukraine peace talks"; not "sparks hope").
A phrase grows into a longer one holding it that scores at least 70% as well and is repeated or in the
headline ("export" -> "equipment export rules").

Dropped: entity names and phrases made only of entity words, honorifics or dates; a phrase that is a
part or a repeat of one ranked higher (same words after plural folding), or a weak one starting with a
word a better one has ("rules closer" after "export rules"); single common words.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from pipeline.stages.enrich.registry import enricher
from pipeline.stages.enrich.text import stopwords
from schemas import Article

TOP = 8
MIN_SINGLE_IDF = 3.0  # a single word must be rarer than Zipf 5 ("talks" passes, "week" does not)

_HONORIFICS = {
    "president", "presidents", "minister", "secretary", "mr", "mrs", "ms", "dr", "prime", "chancellor",
    "senator", "governor", "mayor", "king", "queen", "leader", "general", "sir", "spokesman", "spokeswoman",
}
_TIME_WORDS = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "yesterday",
    "tomorrow", "week", "weeks", "month", "months", "year", "years", "day", "days", "january", "february",
    "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
    "morning", "afternoon", "evening", "night", "time", "times",
}
_IRREGULAR = set(
    "began broke brought built bought came caught chose cut dealt did drew drove fell felt fought found gave "
    "got grew had held hit hung kept knew laid led left lent lost made meant met paid put ran rose said sat "
    "saw sent set shut sold sought spent spoke stood struck swore took taught thought threw told understood "
    "went won wore wrote begun says said reports reported told added according including".split()
)
#: the word after one of these is a verb ("will require", "to restore", "did not")
_BEFORE_VERB = set("to will would could can may might must should shall not did does do he she they we i it".split())
_ADJ_END = ("ern", "ous", "ful", "less", "ical")
_TOKEN = re.compile(r"[A-Za-z][\w’'-]*|[^\w\s]|\d[\w.,]*")


@lru_cache(maxsize=8192)
def idf(word: str) -> float:
    from wordfreq import zipf_frequency

    return max(0.5, 8.0 - zipf_frequency(word, "en"))


def _fold(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def _breaks(word: str, lower: str, stop: frozenset[str]) -> bool:
    if lower in stop or lower in _IRREGULAR or lower in _TIME_WORDS or lower in _HONORIFICS:
        return True
    if not word[0].isalpha():
        return True
    if lower.endswith("ly") and len(lower) > 4:  # adverbs
        return True
    return False


_MID_SENTENCE_CAP = re.compile(r"(?<=[^\s.!?“\"]\s)[A-Z][\w’'-]*")


def sentence_case_title(title: str, body: str) -> str:
    """Headline words keep their capital only where the body writes them so ("Ukraine", not "Sparks")."""
    caps = set(_MID_SENTENCE_CAP.findall(body))

    def fix(m: re.Match) -> str:
        w = m.group()
        if (w.isupper() and len(w) > 1) or not w[0].isupper() or w in caps:
            return w
        return w.lower()

    return re.sub(r"[\w’'-]+", fix, title)


@lru_cache(maxsize=65536)
def _token(tok: str, stop: frozenset[str]) -> tuple[bool, str, str, bool, bool, str]:
    """(breaks a phrase, lower, folded, bad last word of a phrase, bad single word, surface)."""
    lower = tok.lower()
    breaks = _breaks(tok, lower, stop) or lower.endswith("’s") or lower.endswith("'s")
    bad_end = lower.endswith("ed") or lower.endswith("ing") or lower.endswith(_ADJ_END)
    bad_single = lower.endswith("ed") or lower.endswith(_ADJ_END)
    return breaks, lower, _fold(tok), bad_end, bad_single, tok


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return any(longer[i:i + n] == shorter for i in range(len(longer) - n + 1))


def extract(article: Article, top: int = TOP) -> list[str]:
    stop = stopwords()
    named: set[str] = set()
    entity_keys: set[str] = set()
    norp: set[str] = set()
    for e in article.entities:
        if e.field == "title" and not any(m.field == "body" for m in e.mentions or []):
            continue  # headline-only tags are mostly Title Case misreadings ("Rotterdam Extend Strike")
        names = {e.canonical or e.text, e.text, *(m.text for m in e.mentions or [])}
        if e.label == "NORP":
            norp.update(_fold(n) for n in names)
        for name in names:
            words = [w.lower() for w in re.findall(r"[\w’'-]+", name)]
            entity_keys.add(" ".join(_fold(w) for w in words))
            if e.label not in ("GPE", "LOC", "NORP"):
                named.update(w for w in words if w not in stop)
    entity_words = {w for k in entity_keys for w in k.split()}
    runs: list[list[tuple]] = []
    title_runs: list[list[tuple]] = []
    run: list[tuple] = []
    lowered: set[str] = set()
    for which, text in ((title_runs, sentence_case_title(article.title, article.body)), (runs, article.body)):
        prev = ""
        for tok in _TOKEN.findall(text):
            info = _token(tok, stop)
            lower = info[1]
            if info[0] or lower in named or prev in _BEFORE_VERB:
                if run:
                    which.append(run)
                run = []
                prev = lower
                continue
            prev = lower
            if tok[0].islower():
                lowered.add(lower)
            run.append(info)
        if run:
            which.append(run)
        run = []
    in_title = {tuple(t[2] for t in r[i:i + n]) for r in title_runs for n in (1, 2, 3) for i in range(len(r) - n + 1)}
    word_tf: Counter[str] = Counter(t[2] for r in runs for t in r)
    phrase_tf: Counter[tuple[str, ...]] = Counter()
    first: dict[tuple[str, ...], int] = {}
    surface: dict[tuple[str, ...], str] = {}
    pos = 0
    for r in runs:
        m = len(r)
        for i in range(m):
            ti = r[i]
            if not ti[4]:  # a single word may not end in -ed or an adjective suffix
                key = (ti[2],)
                phrase_tf[key] += 1
                if key not in first:
                    first[key] = pos + i
                    surface[key] = ti[5]
            for n in (2, 3):
                if i + n > m:
                    break
                last = r[i + n - 1]
                if last[3]:  # verb-like or adjective end: "talks stall", "operators extended"
                    continue
                key = tuple(t[2] for t in r[i:i + n])
                phrase_tf[key] += 1
                if key not in first:
                    first[key] = pos + i
                    surface[key] = " ".join(t[5] for t in r[i:i + n])
        pos += m + 1
    # headline phrases whose every word the body uses too ("peace talks"); headline-only words are
    # mostly headline verbs ("sparks", "tightens")
    for r in title_runs:
        for n in (1, 2, 3):
            for i in range(len(r) - n + 1):
                piece = r[i:i + n]
                if piece[-1][3 if n > 1 else 4] or not all(t[2] in word_tf for t in piece):
                    continue
                key = tuple(t[2] for t in piece)
                phrase_tf[key] += 1
                if key not in first:
                    first[key] = 0
                    surface[key] = " ".join(t[5] for t in piece)
    total = max(pos, 1)
    scored = []
    for key, tf in phrase_tf.items():
        if " ".join(key) in entity_keys or all(w in entity_words for w in key) or key[-1] in norp:
            continue
        head = key[0]
        if len(key) > 1 and tf < 2 and (head.endswith("ed") or head.endswith("ing")):
            continue  # "briefed Ukrainian", "driving electricity"
        weights = [idf(w) for w in key]
        mean_idf = sum(weights) / len(weights)
        if len(key) == 1 and (weights[0] < MIN_SINGLE_IDF or tf < 2):
            continue
        if len(key) > 1 and tf < 2 and min(weights) < 2.0:
            continue
        support = sum(word_tf[w] for w in key) / len(key)
        lead = 1.5 if key in in_title else 1.3 if first[key] < total * 0.2 else 1.0
        bonus = {1: 1.0, 2: 1.6, 3: 1.8}[len(key)]
        scored.append(((tf + 0.5 * support) * mean_idf * bonus * lead, key))
    scored.sort(key=lambda t: (-t[0], t[1]))
    kept: list[tuple[str, set[str]]] = []
    head_list = scored[:60]
    score_of = dict((k, v) for v, k in head_list)
    kept: list[tuple[tuple[str, ...], set[str]]] = []
    for score, key in scored:
        # a longer phrase holding this one and scoring nearly as well says more ("Ukraine peace talks")
        for other_score, other in head_list:
            if (len(other) > len(key) and other_score >= 0.7 * score and _contains(other, key)
                    and (other in in_title or phrase_tf[other] >= 2)):
                key, score = other, other_score
                break
        bag = set(key)
        if any(bag <= other for _, other in kept):
            continue
        smaller = [i for i, (k, other) in enumerate(kept) if other < bag]
        if smaller:
            i = smaller[0]
            if score >= 0.7 * score_of.get(kept[i][0], score) and len(smaller) == 1:
                kept[i] = (key, bag)  # "export" grows into "equipment export rules"
            continue
        if ((len(key) == 1 or phrase_tf[key] < 2) and key not in in_title
                and any(key[0] in other for _, other in kept)):
            continue  # a weak phrase sharing a word with a better one ("rules closer" after "export rules")
        kept.append((key, bag))
        if len(kept) >= top:
            break
    out = []
    for key, _ in kept:
        form = surface[key]
        head, _, rest = form.partition(" ")
        if head.lower() in lowered and not head.isupper():  # "Strike" opening a sentence
            form = head.lower() + (" " + rest if rest else "")
        out.append(form)
    return out


@enricher("keywords", ("keywords",), english_only=True)
def keywords(article: Article) -> dict[str, Any]:
    return {"keywords": extract(article)}
