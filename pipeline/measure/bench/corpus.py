"""The benchmark corpus: N seeded, reproducible raw news articles that make every stage work.

Text comes from the CoNLL-2003 documents (Reuters news, 1996) when ``../shared/eval`` is present,
otherwise from the sample articles shipped in ``pipeline/samples`` recombined sentence by sentence.
Each article is one or more source documents joined up to a realistic length (median about 400
words), written in the layouts the parse stage reads (scraped plain text, feed JSON, an HTML page),
with a share of exact duplicates (syndicated copies), near duplicates (a paragraph dropped, a few words
changed, an update line) and typos (swapped, dropped or doubled letters, words broken over a line
break, words glued together). The same ``seed`` and ``n`` always give the same bytes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import orjson

from schemas import RawArticle

CONLL_FILES = ("conll2003-train.txt", "conll2003-valid.txt", "conll2003-test.txt")

#: shares of the corpus (of N articles)
EXACT_DUP_SHARE = 0.08
NEAR_DUP_SHARE = 0.07
TYPO_SHARE = 0.40
FORMATS = (("text", 0.6), ("json", 0.25), ("html", 0.15))
#: the days the articles' publication times spread over (inside the dedup stage's 7-day window)
SPAN_DAYS = 3

SOURCES = ("Reuters", "Associated Press", "Example Wire", "Daily Ledger", "Global Times Review", "The Courier")
SECTIONS = ("World", "Business", "Sport", "Politics", "Europe", "Markets", "Asia", "Africa", "Energy", "Middle East")
_SMALL = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "vs", "with"}


@dataclass(frozen=True)
class Doc:
    """One source document: a headline and paragraphs of sentences."""

    title: str
    paragraphs: tuple[str, ...]

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


@dataclass
class BenchArticle:
    origin: str
    payload: bytes
    media_type: str
    kind: str  # "original", "exact_dup", "near_dup"
    format: str
    words: int
    typos: int = 0
    dup_of: str | None = None

    def raw(self, received_at: datetime | None = None) -> RawArticle:
        return RawArticle.from_bytes(self.payload, self.origin, media_type=self.media_type, received_at=received_at)


@dataclass
class Corpus:
    articles: list[BenchArticle]
    source: str  # "conll2003" or "samples"
    seed: int
    stats: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.articles)

    def __iter__(self) -> Iterator[BenchArticle]:
        return iter(self.articles)


# ---- source documents --------------------------------------------------------------------------


def detokenize(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = re.sub(r" ([,.;:!?%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{$]) ", r"\1", text)
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
    text = re.sub(r'" ([^"]*?) "', r'"\1"', text)
    return text


def headline_case(text: str) -> str:
    """CoNLL headlines are in capitals; news sites write them in title case."""
    if text.upper() != text:
        return text
    words = text.lower().split()
    return " ".join(w if (i and w in _SMALL) else w[:1].upper() + w[1:] for i, w in enumerate(words))


def conll_documents(data_dir: Path) -> list[Doc]:
    """Every CoNLL-2003 document as a Doc: first sentence = headline, then sentences in paragraphs."""
    docs: list[Doc] = []
    for name in CONLL_FILES:
        path = Path(data_dir) / name
        if not path.is_file():
            continue
        sentences: list[list[str]] = []
        cur: list[str] = []

        def flush_doc() -> None:
            if len(sentences) >= 4:
                title = headline_case(detokenize(sentences[0]))
                body = [detokenize(s) for s in sentences[1:]]
                # paragraphs of 1-3 sentences, the dateline alone first
                paras = [body[0]]
                i = 1
                while i < len(body):
                    k = 1 + (len(body[i]) % 3)
                    paras.append(" ".join(body[i : i + k]))
                    i += k
                docs.append(Doc(title, tuple(paras)))
            sentences.clear()

        with path.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if not parts:
                    if cur:
                        sentences.append(cur)
                        cur = []
                    continue
                if parts[0] == "-DOCSTART-":
                    if cur:
                        sentences.append(cur)
                        cur = []
                    flush_doc()
                    continue
                cur.append(parts[0])
        if cur:
            sentences.append(cur)
        flush_doc()
    return [d for d in docs if d.words >= 40]


def sample_documents(rng: random.Random, count: int = 400) -> list[Doc]:
    """Docs recombined from the shipped sample articles (sentences shuffled across articles)."""
    from pipeline.connectors.sources.files import InputProblem, read_inputs, sample_dir
    from pipeline.stages.parse import parse

    sentences: list[str] = []
    for item in read_inputs([str(sample_dir())], max_bytes=2_000_000):
        if isinstance(item, InputProblem):
            continue
        art = parse(item)
        sentences += [s.strip() for s in re.split(r"(?<=[.!?”\"])\s+(?=[A-Z“\"])", art.body) if len(s.split()) >= 5]
    docs = []
    for _ in range(count):
        picked = rng.sample(sentences, k=min(len(sentences), rng.randint(6, 14)))
        title = headline_case(" ".join(picked[0].split()[:8]).rstrip(".,;:"))
        paras = tuple(" ".join(picked[i : i + 2]) for i in range(1, len(picked), 2))
        docs.append(Doc(title, paras))
    return docs


# ---- typos -------------------------------------------------------------------------------------


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    op = rng.random()
    if op < 0.35:  # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op < 0.6:  # drop a letter
        return word[:i] + word[i + 1 :]
    if op < 0.8:  # double a letter
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i] + rng.choice("aeiou") + word[i + 1 :]  # insert a vowel


def inject_typos(paragraphs: list[str], rng: random.Random, count: int) -> tuple[list[str], int]:
    """Misspell, break or glue ``count`` lower-case words; returns the paragraphs and how many were made."""
    paras = list(paragraphs)
    made = 0
    for _ in range(count * 4):
        if made >= count:
            break
        pi = rng.randrange(len(paras))
        words = paras[pi].split(" ")
        candidates = [j for j, w in enumerate(words) if len(w) >= 6 and w.isalpha() and w.islower()]
        if not candidates:
            continue
        j = rng.choice(candidates)
        kind = rng.random()
        if kind < 0.7:
            words[j] = _typo(words[j], rng)
        elif kind < 0.85:  # word broken over a blank line, as scrapers deliver it
            k = rng.randrange(2, len(words[j]) - 2)
            words[j] = words[j][:k] + "\n\n" + words[j][k:]
        elif j + 1 < len(words) and words[j + 1].isalpha() and words[j + 1].islower():
            words[j] = words[j] + words[j + 1]  # glued
            del words[j + 1]
        else:
            words[j] = _typo(words[j], rng)
        paras[pi] = " ".join(words)
        made += 1
    return paras, made


# ---- layouts -----------------------------------------------------------------------------------


def _slug(title: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9 ]", "", title.lower()).split()[:8]) or "story"


def render(fmt: str, title: str, paragraphs: list[str], source: str, url: str, published: datetime,
           sections: list[str]) -> tuple[bytes, str]:
    if fmt == "json":
        obj = {"title": title, "url": url, "source": source, "published": published.isoformat(),
               "categories": sections, "body": "\n\n".join(paragraphs)}
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2), "application/json"
    if fmt == "html":
        ps = "\n".join(f"    <p>{_esc(p)}</p>" for p in paragraphs)
        page = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{_esc(title)} | {_esc(source)}</title>
  <meta property="og:site_name" content="{_esc(source)}">
  <meta property="og:title" content="{_esc(title)}">
  <meta property="article:published_time" content="{published.isoformat()}">
  <link rel="canonical" href="{_esc(url)}">
</head>
<body>
  <nav><a href="/">Home</a> | <a href="/world">World</a> | <a href="/business">Business</a></nav>
  <article>
    <h1>{_esc(title)}</h1>
{ps}
  </article>
  <footer>Copyright {published.year} {_esc(source)}. All rights reserved. <a href="/subscribe">Subscribe</a></footer>
</body>
</html>
"""
        return page.encode(), "text/html"
    # scraped plain text, the layout of samples/01-port-strike.txt
    date = f"{published:%B} {published.day}, {published.year}"
    head = f"{' '.join(sections)}\n\n{title}\n\n{title}\nSource: {source}\n  • Published{date}\n\n"
    return (head + "\n\n".join(paragraphs) + "\n").encode(), "text/plain"


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _pick_format(rng: random.Random) -> str:
    r = rng.random()
    acc = 0.0
    for fmt, share in FORMATS:
        acc += share
        if r < acc:
            return fmt
    return FORMATS[0][0]


# ---- the corpus --------------------------------------------------------------------------------


def generate(n: int = 2000, seed: int = 7, data_dir: Path | None = None) -> Corpus:
    """N articles, reproducible from (n, seed, source data)."""
    if n < 1:
        raise ValueError("the corpus needs at least one article")
    rng = random.Random(seed)
    docs = conll_documents(data_dir) if data_dir is not None and Path(data_dir).is_dir() else []
    source = "conll2003"
    if not docs:
        docs, source = sample_documents(random.Random(seed)), "samples"
    order = list(range(len(docs)))
    rng.shuffle(order)
    cursor = 0

    def next_doc() -> Doc:
        nonlocal cursor, order
        if cursor >= len(order):
            rng.shuffle(order)
            cursor = 0
        cursor += 1
        return docs[order[cursor - 1]]

    n_exact = int(n * EXACT_DUP_SHARE)
    n_near = int(n * NEAR_DUP_SHARE)
    if n < 10:
        n_exact = n_near = 0
    n_orig = n - n_exact - n_near
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    originals: list[tuple[BenchArticle, dict]] = []
    for i in range(n_orig):
        first = next_doc()
        target = int(min(1200, max(150, rng.lognormvariate(5.7, 0.45))))  # ~450 words median once filled
        paras = list(first.paragraphs)
        words = first.words
        while words < target:
            extra = next_doc()
            paras += list(extra.paragraphs[1:] or extra.paragraphs)
            words += extra.words
        typos = 0
        if rng.random() < TYPO_SHARE:
            paras, typos = inject_typos(paras, rng, rng.randint(1, 4))
        title = first.title
        src = rng.choice(SOURCES)
        # within a few days, well inside the dedup window (7 days of event time): articles spread over 300 days
        # in random order made the live dedup forget originals at its first sweep (a minute in) and miss the
        # copies that came later, so the counts depended on how fast the run went (issue 22)
        published = base + timedelta(minutes=rng.randrange(0, 60 * 24 * SPAN_DAYS))
        sections = rng.sample(SECTIONS, k=rng.randint(1, 3))
        url = f"https://news{i % 7}.example.com/{published:%Y/%m/%d}/{_slug(title)}-{i}"
        fmt = _pick_format(rng)
        payload, media = render(fmt, title, paras, src, url, published, sections)
        art = BenchArticle(origin=f"bench/{seed}/{i:06d}.{fmt}", payload=payload, media_type=media,
                           kind="original", format=fmt, words=sum(len(p.split()) for p in paras) + len(title.split()),
                           typos=typos)
        originals.append((art, {"title": title, "paras": paras, "source": src, "url": url, "published": published,
                                "sections": sections, "fmt": fmt}))

    articles = [a for a, _ in originals]
    extra: list[BenchArticle] = []
    for k in range(n_exact):  # syndicated copy: same text and layout, another origin and site
        a, meta = originals[rng.randrange(len(originals))]
        url = meta["url"].replace("://news", "://mirror", 1) + f"?utm_source=syndication&k={k}"
        payload, media = render(meta["fmt"], meta["title"], meta["paras"], rng.choice(SOURCES), url, meta["published"],
                                meta["sections"])
        extra.append(BenchArticle(origin=f"bench/{seed}/exact-{k:06d}.{meta['fmt']}", payload=payload, media_type=media,
                                  kind="exact_dup", format=meta["fmt"], words=a.words, typos=a.typos, dup_of=a.origin))
    for k in range(n_near):  # near copy: a paragraph dropped, a few words changed, an update line
        a, meta = originals[rng.randrange(len(originals))]
        paras = list(meta["paras"])
        if len(paras) > 3:
            del paras[rng.randrange(1, len(paras))]
        paras, _ = inject_typos(paras, rng, rng.randint(1, 3))
        paras.append(f"This story was updated at {rng.randint(1, 12)}:{rng.randint(10, 59)} GMT with more detail.")
        url = meta["url"].replace("://news", "://wire", 1) + f"-update{k}"
        fmt = _pick_format(rng)
        payload, media = render(fmt, meta["title"], paras, meta["source"], url, meta["published"], meta["sections"])
        extra.append(BenchArticle(origin=f"bench/{seed}/near-{k:06d}.{fmt}", payload=payload, media_type=media,
                                  kind="near_dup", format=fmt, words=sum(len(p.split()) for p in paras), typos=a.typos,
                                  dup_of=a.origin))
    # duplicates come after their original, spread through the stream
    for dup in extra:
        first = next(i for i, x in enumerate(articles) if x.origin == dup.dup_of)
        articles.insert(rng.randint(first + 1, len(articles)), dup)

    words = sorted(a.words for a in articles)
    stats = {
        "articles": len(articles), "source": source, "seed": seed,
        "originals": n_orig, "exact_duplicates": n_exact, "near_duplicates": n_near,
        "with_typos": sum(1 for a in articles if a.typos), "typos": sum(a.typos for a in articles),
        "formats": {f: sum(1 for a in articles if a.format == f) for f, _ in FORMATS},
        "words_total": sum(words), "words_median": words[len(words) // 2],
        "bytes_total": sum(len(a.payload) for a in articles),
    }
    return Corpus(articles, source, seed, stats)
