"""Typo-repair evaluation: CoNLL-2003 documents rebuilt as text, realistic errors injected, repairs scored.

Errors are injected into non-entity words only, at about one word in 50, with a seeded RNG:

* ``misspelling``: a real misspelling from ``codespell``'s dictionary used in reverse (its
  ``wrong->right`` pairs with a single right word), keeping the word's case pattern;
* ``linebreak``: the word split by a line break (``pow\\n\\ners``) or hyphenated over one (``govern-\\nment``);
* ``glued``: the word glued to the next word (``thecat``, ``PublishedFebruary``).

The normalize stage runs on every document; its ``corrections`` (offsets into the normalized text) are
mapped back onto the corrupted text and scored:

* recall: injected errors whose span reads exactly as the clean text after normalization;
* precision: right changes / all changes; a change is right when it restores an injected error, or
  when it fixes a misspelling already in the source exactly as codespell's dictionary would
  (``capabilties`` -> ``capabilities``: Reuters has a few) or as the hand annotation of the source's
  out-of-dictionary tokens in ``source_typos.py`` says (``intriuguing`` -> ``intriguing``); counted apart
  as ``source_typos_fixed`` (``of_them_annotated``: those only the annotation confirms);
* names_changed: changes touching an entity token (CoNLL tags PER/ORG/LOC/MISC);
* false_per_10k: changes touching no injected error, per 10,000 words of text;
* tokens_per_s: whitespace tokens normalized per second of the stage's own time (one core).
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.measure.eval.source_typos import SOURCE_TYPOS
from schemas import Article, Correction

ENTITY_TAGS = ("PER", "ORG", "LOC", "MISC")
NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'s", "'S", "n't", "N'T", "'re", "'ve", "'ll",
                   "'d", "'m", "..."}
NO_SPACE_AFTER = {"(", "[", "{", "$"}
_ALPHA = re.compile(r"^[A-Za-z]+$")


class EvalDataMissing(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# CoNLL documents
# --------------------------------------------------------------------------------------------------


@dataclass
class Doc:
    sentences: list[list[tuple[str, bool]]]  # (token, is_entity)


def read_conll(path: Path) -> list[Doc]:
    docs: list[Doc] = []
    sent: list[tuple[str, bool]] = []
    cur: Doc | None = None
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("-DOCSTART-"):
                if cur is not None:
                    if sent:
                        cur.sentences.append(sent)
                    docs.append(cur)
                cur, sent = Doc([]), []
                continue
            if not line.strip():
                if sent and cur is not None:
                    cur.sentences.append(sent)
                sent = []
                continue
            parts = line.split()
            if cur is None:
                cur = Doc([])
            sent.append((parts[0], parts[-1] != "O"))
    if cur is not None:
        if sent:
            cur.sentences.append(sent)
        docs.append(cur)
    return [d for d in docs if d.sentences]


# --------------------------------------------------------------------------------------------------
# codespell pairs, reversed
# --------------------------------------------------------------------------------------------------


def codespell_pairs() -> dict[str, list[str]]:
    """right word (lower case) -> misspellings of it, from codespell's main dictionary."""
    try:
        import codespell_lib
    except ImportError:
        raise EvalDataMissing("the codespell package is not installed: pip install -e '.[eval]' (make install)") from None
    path = Path(codespell_lib.__file__).parent / "data" / "dictionary.txt"
    lines = (line.partition("->") for line in path.read_text(encoding="utf-8").splitlines())
    return _reversed_pairs((wrong, right.split(",")) for wrong, sep, right in lines if sep)


WIKIPEDIA_PAIRS = Path(__file__).resolve().parents[3] / "devsets" / "wikipedia-misspellings.tsv"


def wikipedia_pairs() -> dict[str, list[str]]:
    """right word -> misspellings of it, from Wikipedia's "Lists of common misspellings" (misspellings found
    in Wikipedia's articles, written by ordinary writers): ``devsets/wikipedia-misspellings.tsv``."""
    if not WIKIPEDIA_PAIRS.is_file():
        raise EvalDataMissing(f"misspelling list not found: {WIKIPEDIA_PAIRS}")
    lines = WIKIPEDIA_PAIRS.read_text(encoding="utf-8").splitlines()
    return _reversed_pairs((ln.partition("\t")[0], [ln.partition("\t")[2]]) for ln in lines
                           if ln and not ln.startswith("#"))


def _reversed_pairs(items) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for wrong, rights in items:
        rights = [r.strip() for r in rights if r.strip()]
        # A single, unambiguous right word; both sides plain lower-case words.
        if len(rights) != 1 or not _ALPHA.match(wrong) or not _ALPHA.match(rights[0]):
            continue
        if wrong.lower() == rights[0].lower() or not wrong.islower() or not rights[0].islower():
            continue
        out.setdefault(rights[0], []).append(wrong)
    for v in out.values():
        v.sort()
    return out


#: the misspelling lists ``evaluate`` can inject
PAIR_SOURCES = {"codespell": codespell_pairs, "wikipedia": wikipedia_pairs}


def case_like(template: str, word: str) -> str:
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


# --------------------------------------------------------------------------------------------------
# building the corrupted text
# --------------------------------------------------------------------------------------------------


@dataclass
class Injected:
    start: int  # span in the corrupted text
    end: int
    expected: str  # what the span must read after repair
    kind: str


@dataclass
class Built:
    title: str
    body: str
    # spans (field, start, end) in the corrupted text
    entity_spans: list[tuple[str, int, int]] = field(default_factory=list)
    injected: list[tuple[str, Injected]] = field(default_factory=list)
    words: int = 0


def _detok_join(prev: str | None, tok: str, quote_open: bool) -> bool:
    """Whether a space goes between ``prev`` and ``tok``."""
    if prev is None:
        return False
    if tok in NO_SPACE_BEFORE or (tok.startswith("'") and len(tok) > 1 and tok[1:].isalpha() and len(tok) <= 3):
        return False
    if prev in NO_SPACE_AFTER:
        return False
    if tok == '"':
        return not quote_open  # opening quote: space before; closing: none
    if prev == '"':
        return not quote_open  # after an opening quote: none; after a closing one: space
    return True


def build_doc(doc: Doc, rng: random.Random, pairs: dict[str, list[str]], rate: float) -> Built:
    """Headline as the title, the rest (one sentence a line) as the body; errors injected on the way."""
    built = Built("", "")
    for fld, sentences in (("title", doc.sentences[:1]), ("body", doc.sentences[1:])):
        parts: list[str] = []
        pos = 0
        for si, sent in enumerate(sentences):
            if si:
                parts.append("\n")
                pos += 1
            quote_open = False
            prev: str | None = None
            i = 0
            while i < len(sent):
                tok, is_ent = sent[i]
                if tok == '"':
                    quote_open_before = quote_open
                    space = _detok_join(prev, tok, quote_open_before)
                    quote_open = not quote_open
                else:
                    space = _detok_join(prev, tok, quote_open)
                if space:
                    parts.append(" ")
                    pos += 1
                if _ALPHA.match(tok):
                    built.words += 1
                text, expected, kind, consumed = tok, None, None, 1
                if not is_ent and _ALPHA.match(tok) and rng.random() < rate:
                    choice = _inject(tok, sent, i, rng, pairs)
                    if choice is not None:
                        text, expected, kind, consumed = choice
                if consumed == 2:
                    built.words += 1
                start = pos
                parts.append(text)
                pos += len(text)
                if kind is not None:
                    built.injected.append((fld, Injected(start, pos, expected, kind)))
                if is_ent:
                    built.entity_spans.append((fld, start, pos))
                prev = sent[i + consumed - 1][0]
                i += consumed
        if fld == "title":
            built.title = "".join(parts)
        else:
            built.body = "".join(parts)
    return built


def _inject(tok: str, sent, i: int, rng: random.Random, pairs) -> tuple[str, str, str, int] | None:
    low = tok.lower()
    kinds = []
    if low in pairs and (tok.islower() or tok.isupper() or tok[1:].islower()):
        kinds += ["misspelling"] * 6
    if len(tok) >= 6:
        kinds += ["linebreak"] * 2
    nxt = sent[i + 1] if i + 1 < len(sent) else None
    if nxt is not None and not nxt[1] and _ALPHA.match(nxt[0]) and len(tok) >= 2 and len(nxt[0]) >= 2:
        kinds += ["glued"] * 2
    if not kinds:
        return None
    kind = rng.choice(kinds)
    if kind == "misspelling":
        return case_like(tok, rng.choice(pairs[low])), tok, kind, 1
    if kind == "linebreak":
        cut = rng.randint(2, len(tok) - 2)
        sep = rng.choice(["\n", "\n\n", "-\n"])
        return tok[:cut] + sep + tok[cut:], tok, kind, 1
    return tok + nxt[0], f"{tok} {nxt[0]}", kind, 2


# --------------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------------


def to_source_spans(corrections: list[Correction], fld: str) -> list[tuple[int, int, int, int, Correction]]:
    """(source start, source end, normalized start, normalized end, correction) for one field, by position."""
    cs = sorted((c for c in corrections if c.field == fld), key=lambda c: c.start)
    out = []
    shift = 0
    for c in cs:
        s = c.start - shift
        out.append((s, s + len(c.original), c.start, c.end, c))
        shift += len(c.corrected) - len(c.original)
    return out


def map_span(spans, start: int, end: int) -> tuple[int, int, list[int]]:
    """Normalized span of source span [start, end); indexes of the corrections overlapping it."""
    shift_s = shift_e = 0
    first = last = None
    hit = []
    for k, (s, e, n_s, n_e, c) in enumerate(spans):
        d = len(c.corrected) - len(c.original)
        overlaps = (s < end and e > start) if s < e else (start <= s <= end)
        if overlaps:
            hit.append(k)
            if first is None:
                first = (s, n_s)
            last = (e, n_e)
        if e <= start and not overlaps:
            shift_s += d
        if e <= end:
            shift_e += d
    ns = first[1] if first is not None and first[0] < start else start + shift_s
    ne = last[1] if last is not None and last[0] > end else end + shift_e
    return ns, ne, hit


@dataclass
class Score:
    docs: int = 0
    words: int = 0
    tokens: int = 0
    injected: int = 0
    restored: int = 0
    changes: int = 0
    right: int = 0
    names_changed: int = 0
    false_changes: int = 0
    wrong_fixes: int = 0
    source_typos_fixed: int = 0
    annotated_typos_fixed: int = 0
    annotated_only: frozenset = frozenset()  # source misspellings the annotation has and codespell lacks
    seconds: float = 0.0
    by_kind: Counter = field(default_factory=Counter)
    restored_by_kind: Counter = field(default_factory=Counter)
    by_distance: Counter = field(default_factory=Counter)  # misspellings by edit distance: "1", "2+"
    restored_by_distance: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: {"missed": [], "false": [], "names": [], "wrong": []})

    def as_dict(self) -> dict:
        return {
            "docs": self.docs,
            "words": self.words,
            "tokens": self.tokens,
            "injected": self.injected,
            "restored": self.restored,
            "changes": self.changes,
            "recall": round(self.restored / self.injected, 4) if self.injected else None,
            "precision": round(self.right / self.changes, 4) if self.changes else 1.0,
            "names_changed": self.names_changed,
            "false_changes": self.false_changes,
            "false_per_10k": round(self.false_changes / self.words * 10_000, 3) if self.words else None,
            "wrong_fixes": self.wrong_fixes,
            "source_typos_fixed": self.source_typos_fixed,
            "of_them_annotated": self.annotated_typos_fixed,
            # the same two figures if the hand annotation (source_typos.py) did not exist: the source
            # misspellings only it confirms counted as wrong, untouched-word changes
            "precision_without_annotation": (round((self.right - self.annotated_typos_fixed) / self.changes, 4)
                                             if self.changes else 1.0),
            "false_per_10k_without_annotation": (round((self.false_changes + self.annotated_typos_fixed)
                                                       / self.words * 10_000, 3) if self.words else None),
            "recall_by_kind": {k: round(self.restored_by_kind[k] / n, 4) for k, n in sorted(self.by_kind.items())},
            "misspelling_recall_by_edits": {k: round(self.restored_by_distance[k] / n, 4)
                                            for k, n in sorted(self.by_distance.items())},
            "tokens_per_s": round(self.tokens / self.seconds) if self.seconds else None,
        }


def _edit_distance(a: str, b: str) -> int:
    """Damerau (optimal string alignment) distance: a swap of two letters is one edit."""
    from symspellpy.editdistance import DistanceAlgorithm, EditDistance

    return EditDistance(DistanceAlgorithm.DAMERAU_OSA).compare(a, b, max(len(a), len(b)))


def score_doc(built: Built, art: Article, sc: Score, fixes: dict[str, str], keep_examples: int = 60) -> None:
    texts = {"title": (built.title, art.title), "body": (built.body, art.body)}
    spans = {f: to_source_spans(art.corrections, f) for f in texts}
    right: set[tuple[str, int]] = set()
    touched: set[tuple[str, int]] = set()
    for fld, inj in built.injected:
        sc.injected += 1
        sc.by_kind[inj.kind] += 1
        ns, ne, hit = map_span(spans[fld], inj.start, inj.end)
        got = texts[fld][1][ns:ne]
        touched.update((fld, k) for k in hit)
        edits = None
        if inj.kind == "misspelling":
            edits = "1" if _edit_distance(texts[fld][0][inj.start:inj.end].lower(), inj.expected.lower()) <= 1 else "2+"
            sc.by_distance[edits] += 1
        if got == inj.expected:
            sc.restored += 1
            sc.restored_by_kind[inj.kind] += 1
            if edits:
                sc.restored_by_distance[edits] += 1
            right.update((fld, k) for k in hit)
        elif len(sc.examples["missed"]) < keep_examples:
            src = texts[fld][0]
            sc.examples["missed"].append(f"{inj.kind}: {src[inj.start:inj.end]!r} -> {got!r} (want {inj.expected!r})")
    for fld, sp in spans.items():
        ents = [(s, e) for f, s, e in built.entity_spans if f == fld]
        for k, (s, e, n_s, n_e, c) in enumerate(sp):
            sc.changes += 1
            if (fld, k) in right:
                sc.right += 1
                continue
            if fixes.get(c.original.lower()) == c.corrected.lower():
                # A misspelling already in the source text (Reuters has a few), fixed as codespell would or
                # as annotated by hand (source_typos.py).
                sc.right += 1
                sc.source_typos_fixed += 1
                if c.original.lower() in sc.annotated_only:
                    sc.annotated_typos_fixed += 1
                continue
            src = texts[fld][0]
            ctx = src[max(0, s - 25):e + 25].replace("\n", "⏎")
            note = f"{c.original!r} -> {c.corrected!r} [{c.kind}] in {ctx!r}"
            if any(s < ee and e > es for es, ee in ents):
                sc.names_changed += 1
                bucket = "names"
            elif (fld, k) in touched:
                sc.wrong_fixes += 1
                bucket = "wrong"
            else:
                sc.false_changes += 1
                bucket = "false"
            if len(sc.examples[bucket]) < keep_examples:
                sc.examples[bucket].append(note)


def evaluate(data_dir: Path, *, split: str = "test", seed: int = 13, docs: int | None = None,
             rate: float = 1 / 50, custom_words: frozenset[str] = frozenset(), pairs_from: str = "codespell",
             repair=None) -> Score:
    """Score ``repair`` (default: the normalize stage; ``plain_symspell`` is the baseline) on the documents
    with errors injected; the same seed injects the same errors whatever the repair."""
    from pipeline.stages.normalize import normalize, warm_up

    repair = repair or normalize

    path = Path(data_dir) / f"conll2003-{split}.txt"
    if not path.is_file():
        raise EvalDataMissing(f"evaluation data not found: {path} (expected the CoNLL-2003 files of ../shared/eval)")
    documents = read_conll(path)
    if docs:
        documents = documents[:docs]
    codespell = codespell_pairs()
    pairs = codespell if pairs_from == "codespell" else PAIR_SOURCES[pairs_from]()
    fixes = {w: r for r, ws in codespell.items() for w in ws}
    for r, ws in pairs.items():
        for w in ws:
            fixes.setdefault(w, r)
    annotated_only = frozenset(w for w in SOURCE_TYPOS if w not in fixes)
    for wrong, right in SOURCE_TYPOS.items():
        fixes.setdefault(wrong, right)
    rng = random.Random(seed)
    warm_up()
    sc = Score(annotated_only=annotated_only)
    received = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for n, doc in enumerate(documents):
        built = build_doc(doc, rng, pairs, rate)
        art = Article(id=f"conll-{split}-{n}", origin="conll", received_at=received, raw_format="text",
                      title=built.title, body=built.body)
        t0 = time.process_time()
        out = repair(art, custom_words=custom_words)
        sc.seconds += time.process_time() - t0
        sc.docs += 1
        sc.words += built.words
        sc.tokens += len(built.title.split()) + len(built.body.split())
        score_doc(built, out, sc, fixes)
    return sc


def plain_symspell(article: Article, *, custom_words: frozenset[str] = frozenset()) -> Article:
    """The baseline: every lower-case word symspellpy's dictionary lacks replaced by its top suggestion
    (edit distance 2), with no context, no names and no word-frequency checks."""
    from symspellpy import Verbosity

    from pipeline.stages.normalize import Edit, _symspell, _WORD_TOKEN_RE, apply_edits

    sym = _symspell()
    corrections: list[Correction] = []
    fields = {}
    for fld in ("title", "body"):
        text = getattr(article, fld)
        edits = []
        for m in _WORD_TOKEN_RE.finditer(text):
            w = m.group(0)
            if not w.islower() or w in sym.words or w in custom_words:
                continue
            found = sym.lookup(w, Verbosity.TOP, max_edit_distance=2)
            if found and found[0].term != w:
                edits.append(Edit(m.start(), m.end(), found[0].term, "spelling"))
        fields[fld], corrections = apply_edits(text, edits, fld, corrections)
    return article.model_copy(update={**fields, "corrections": corrections})


def clean_page_changes(repair=None) -> dict:
    """Changes made to real, edited news text: the main text of the English pages of the extraction dev set
    (``devsets/extraction.jsonl.xz``), where nearly every change damages a word that was right."""
    from pipeline.measure.eval.extraction import DEFAULT_DEVSET, load
    from pipeline.stages.normalize import normalize

    repair = repair or normalize
    received = datetime(2025, 1, 1, tzinfo=timezone.utc)
    pages = words = 0
    changes: list[str] = []
    for page in load(DEFAULT_DEVSET):
        art = Article(id=page["name"], origin=page["name"], received_at=received, raw_format="html",
                      title=page["title"], body=page["body"].replace("\n", "\n\n"))
        out = repair(art)
        if "normalize" in out.skipped:
            continue  # not English
        pages += 1
        words += len(_ALPHA_WORD.findall(art.title)) + len(_ALPHA_WORD.findall(art.body))
        changes += [f"{page['name']}: {c.original!r} -> {c.corrected!r}" for c in out.corrections]
    return {"pages": pages, "words": words, "changes": len(changes),
            "changes_per_10k": round(len(changes) / words * 10_000, 2) if words else None, "examples": changes}


_ALPHA_WORD = re.compile(r"\w+")
