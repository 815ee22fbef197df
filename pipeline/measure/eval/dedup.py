"""``newsflow eval dedup``: precision and recall of the dedup stage on a labelled set built from CoNLL-2003.

The set (seeded, so every run builds the same one):

- originals: every CoNLL-2003 document of the chosen splits, rebuilt as an article (title = first
  sentence, one paragraph a sentence). CoNLL holds several independent reports of one event (the
  same match, the same market day): they are negatives and must all pass.
- exact copies (one per original): the same story re-sent from another outlet: a new title, different
  case, whitespace and quotes, an agency boilerplate line, or the original's URL with tracking
  parameters.
- syndicated variants (two per original of at least ``MIN_VARIANT_WORDS`` words): a new title plus
  two to four of: boilerplate added, boilerplate (byline, dateline, sign-off) removed, paragraphs
  reflowed, one to three typos, one paragraph cut (at most a fifth of the words), one paragraph added.

Every article goes through ``dedup`` in stream order (all originals, then the copies shuffled). A
copy counts as caught when it is reported as a duplicate of its own original. Precision is over the
near-duplicate decisions; a near-duplicate decision on an original or the wrong target is a false
positive. Speed is the dedup stage alone on one core (articles prepared beforehand); memory is
counted part by part on an index of ``memory_articles`` articles (``measure_memory``).

In the same run: a plain MinHash LSH at Jaccard 0.5 (``baseline_minhash_lsh``) on the same stream, and
the real news pages of ``devsets/extraction.jsonl.xz`` with their furniture (``real_pages``).
"""

from __future__ import annotations

import gc
import hashlib
import random
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.stages.dedup.index import MemoryDedupIndex
from pipeline.measure.eval.conll import Document, load_documents
from pipeline.stages.dedup.stage import DedupConfig, canonical_text, dedup, shingles
from schemas import Article

MIN_VARIANT_WORDS = 60
BOILERPLATE = [
    "Reporting by {name}; Editing by {name2}",
    "(Reporting by {name})",
    "Copyright 1996 Reuters Limited. All rights reserved.",
    "Click here to subscribe to our daily newsletter.",
    "-- {city} Newsroom +44 171 542 7658",
    "Follow us on Twitter for the latest updates.",
]
NAMES = ["Jane Doe", "Ali Hassan", "Maria Rossi", "Tom Becker", "Li Wei", "Anna Novak"]
CITIES = ["London", "Paris", "New York", "Frankfurt", "Tokyo"]
TITLE_PREFIXES = ["UPDATE 1-", "WRAPUP - ", "FOCUS-", "", "REFILE-"]


@dataclass
class Item:
    article: Article
    group: str  # the original's doc id
    kind: str  # original, exact, near


def _id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _article(origin: str, title: str, body: str, when: datetime, url: str | None = None) -> Article:
    return Article(id=_id(origin, title, body), origin=origin, received_at=when, published_at=when,
                   raw_format="text", title=title, body=body, url=url)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(["swap", "drop", "double", "replace"])
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiourstn") + word[i + 1:]


def _boilerplate(rng: random.Random) -> str:
    return rng.choice(BOILERPLATE).format(name=rng.choice(NAMES), name2=rng.choice(NAMES), city=rng.choice(CITIES))


def _reflow(paras: list[str], rng: random.Random) -> str:
    """Merge neighbouring paragraphs and wrap lines at a random width."""
    merged: list[str] = []
    for p in paras:
        if merged and rng.random() < 0.4:
            merged[-1] += " " + p
        else:
            merged.append(p)
    width = rng.randint(50, 90)
    out = []
    for p in merged:
        lines, line = [], ""
        for w in p.split():
            if line and len(line) + 1 + len(w) > width:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}" if line else w
        lines.append(line)
        out.append("\n".join(lines))
    return "\n\n".join(out)


def near_variant(doc: Document, donor: Document, rng: random.Random) -> tuple[str, str, list[str]]:
    """A syndicated copy: new title and 2-4 realistic edits. Returns (title, body, edits)."""
    paras = list(doc.paragraphs)
    edits = rng.sample(["add_boilerplate", "remove_boilerplate", "reflow", "typos", "cut", "add"], rng.randint(2, 4))
    title = rng.choice(TITLE_PREFIXES) + (doc.title.title() if rng.random() < 0.5 else doc.title.rstrip(".") + " - sources")
    if "remove_boilerplate" in edits:
        # byline and dateline (short leading lines) and the sign-off go
        while len(paras) > 2 and len(paras[0].split()) <= 4:
            paras.pop(0)
        if paras and paras[-1].lstrip().startswith("--"):
            paras.pop()
    if "cut" in edits and len(paras) >= 4:
        total = sum(len(p.split()) for p in paras)
        options = [i for i in range(1, len(paras)) if len(paras[i].split()) <= total / 5]
        if options:
            paras.pop(rng.choice(options))
    if "add" in edits:
        extra = [p for p in donor.paragraphs if len(p.split()) >= 8] or ["The company did not respond to a request for comment."]
        paras.insert(rng.randint(1, len(paras)), rng.choice(extra))
    if "typos" in edits:
        words_at = [(i, j) for i, p in enumerate(paras) for j, w in enumerate(p.split(" ")) if len(w) >= 5 and w.isalpha()]
        for i, j in rng.sample(words_at, min(len(words_at), rng.randint(1, 3))):
            ws = paras[i].split(" ")
            ws[j] = _typo(ws[j], rng)
            paras[i] = " ".join(ws)
    if "add_boilerplate" in edits:
        paras.append(_boilerplate(rng))
    body = _reflow(paras, rng) if "reflow" in edits else "\n\n".join(paras)
    return title, body, edits


def exact_variant(doc: Document, rng: random.Random) -> tuple[str, str]:
    """Same text, cosmetically different: case, spacing, curly quotes, full-width digits, boilerplate."""
    body = doc.text()
    choice = rng.randrange(4)
    if choice == 0:
        body = body.upper()
    elif choice == 1:
        body = re.sub(r" ", "  ", body).replace('"', "\u201c").replace("\n\n", "\n \n")
    elif choice == 2:
        body = body.translate({ord(str(d)): chr(0xFF10 + d) for d in range(10)})  # NFKC folds these back
    body = body + "\n\n" + _boilerplate(rng) if rng.random() < 0.5 else body
    return doc.title.upper(), body


def build_set(docs: list[Document], seed: int = 13) -> list[Item]:
    rng = random.Random(seed)
    base = datetime(1996, 8, 22, tzinfo=timezone.utc)
    originals: list[Item] = []
    copies: list[Item] = []
    for k, doc in enumerate(docs):
        when = base + timedelta(minutes=k)
        url = f"https://www.reuters.example/article/{doc.doc_id}"
        originals.append(Item(_article(f"reuters/{doc.doc_id}", doc.title, doc.text(), when, url), doc.doc_id, "original"))
        # exact copies: by content (another outlet, cosmetic changes), or by URL (tracking parameters)
        if rng.random() < 0.8:
            t, b = exact_variant(doc, rng)
            copies.append(Item(_article(f"mirror/{doc.doc_id}", t, b, when + timedelta(minutes=30)), doc.doc_id, "exact"))
        else:
            copies.append(Item(_article(f"rss/{doc.doc_id}", doc.title, doc.text() + "\n\n(Updates with minor edit)",
                                        when + timedelta(minutes=5),
                                        url.replace("https://www.", "http://") + "?utm_source=rss&utm_medium=feed"),
                               doc.doc_id, "exact"))
        if len(" ".join(doc.paragraphs).split()) >= MIN_VARIANT_WORDS:
            for v in range(2):
                donor = docs[rng.randrange(len(docs))]
                t, b, _ = near_variant(doc, donor, rng)
                copies.append(Item(_article(f"outlet{v}/{doc.doc_id}", t, b, when + timedelta(hours=2 + v)),
                                   doc.doc_id, "near"))
    rng.shuffle(copies)
    return originals + copies


def same_event_pairs(docs: list[Document], min_shared: int = 4, min_jaccard: float = 0.5) -> list[tuple[int, int]]:
    """Pairs of documents reporting one event: many gold entities in common (CoNLL's own tags)."""
    pairs = []
    ents = [{e for e in d.entities if e[0] != "MISC"} for d in docs]
    for i in range(len(docs)):
        if len(ents[i]) < min_shared:
            continue
        for j in range(i + 1, min(len(docs), i + 200)):
            shared = len(ents[i] & ents[j])
            if shared >= min_shared and shared / len(ents[i] | ents[j]) >= min_jaccard:
                pairs.append((i, j))
    return pairs


SAME_TEXT = 0.8


def same_text_pairs(docs: list[Document]) -> list[tuple[int, int]]:
    """(earlier, later) documents of the corpus that are the same text: exact shingle Jaccard >= SAME_TEXT."""
    sh = [shingles(canonical_text(d.text())) for d in docs]
    pairs = []
    for j in range(len(docs)):
        for i in range(max(0, j - 300), j):
            if sh[i] and sh[j] and len(sh[i] & sh[j]) / len(sh[i] | sh[j]) >= SAME_TEXT:
                pairs.append((i, j))
                break
    return pairs


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        import os

        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _deep(obj, seen: set) -> int:
    """Bytes of ``obj`` and what it holds (containers followed; each object counted once)."""
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    n = sys.getsizeof(obj)
    if isinstance(obj, dict):
        n += sum(_deep(k, seen) + _deep(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        n += sum(_deep(x, seen) for x in obj)
    return n


def memory_articles_list(items: list[Item], n: int) -> list[Article]:
    rng = random.Random(5)
    pool = [it.article for it in items if it.kind == "original"]
    arts = []
    for k in range(n):
        a = pool[k % len(pool)]
        words = a.body.split()
        rng.shuffle(words)  # distinct text with realistic words and length
        arts.append(a.model_copy(update={"id": _id("mem", str(k)), "body": " ".join(words[:300]),
                                         "url": f"https://mem.example/{k}"}))
    return arts


def measure_memory(items: list[Item], config: DedupConfig, n: int) -> dict:
    """Bytes per article of an index of ``n`` distinct articles (each with a URL): traced by
    tracemalloc while it is built (everything the index allocates, numpy arrays included), and
    counted part by part: the near index (band keys, signatures, ids, times, sizes: the 600-byte
    budget of issue 22), the shingle hashes that verify a candidate exactly, and the dict of
    decisions and exact fingerprints (``d:``, ``c:``, ``u:`` keys). The resident-set growth is
    given too (it includes the allocator's slack)."""
    import tracemalloc

    arts = memory_articles_list(items, n)
    gc.collect()
    index = MemoryDedupIndex(window_s=config.window_s, retention_s=config.retention_s)
    rss0 = _rss_bytes()
    tracemalloc.start()
    t0, _ = tracemalloc.get_traced_memory()
    for a in arts:
        dedup(a, index, config)
    gc.collect()
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = _rss_bytes() - rss0
    index.store._merge()
    near = index.store.nbytes()
    verify = _deep(index.shingles, set())
    exact = _deep(dict(index), set())
    return {
        "articles": n,
        "near_index": round(near / n, 1),
        "verification_shingles": round(verify / n, 1),
        "decisions_and_fingerprints": round(exact / n, 1),
        "traced_total": round((traced - t0) / n, 1),
        "rss_growth": round(rss / n, 1),
    }


def baseline_minhash_lsh(items: list[Item], threshold: float = 0.5, num_perm: int = 128) -> list[str | None]:
    """What a user would write: rensa MinHash (128 permutations) of the lower-cased word 3-shingles of
    the body, an LSH at Jaccard ``threshold``, a duplicate of the candidate of highest estimated Jaccard
    when that is at least ``threshold``; no canonical forms, no URL, no furniture. The first copy's id
    per article (``None``: passed)."""
    import rensa

    lsh = rensa.RMinHashLSH(threshold=threshold, num_perm=num_perm, num_bands=32)
    kept: dict[int, tuple[str, "rensa.RMinHash"]] = {}
    out: list[str | None] = []
    for k, it in enumerate(items):
        words = re.findall(r"\w+", (it.article.body or it.article.title).lower())
        sh = {" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))}
        mh = rensa.RMinHash(num_perm=num_perm, seed=42)
        mh.update(list(sh))
        best, best_j = None, 0.0
        for key in lsh.query(mh):
            j = mh.jaccard(kept[key][1])
            if j > best_j:
                best, best_j = kept[key][0], j
        if best is not None and best_j >= threshold:
            out.append(best)
            continue
        lsh.insert(k, mh)
        kept[k] = (it.article.id, mh)
        out.append(None)
    return out


def _score(items: list[Item], dup_of: list[str | None], story: dict, group_story: dict) -> dict:
    """Recall of near variants and exact copies, precision of every duplicate decision."""
    right = wrong = near_caught = exact_caught = 0
    for it, of in zip(items, dup_of):
        if of is None:
            continue
        ok = story.get(of) == group_story[it.group] and it.kind != "original"
        right += ok
        wrong += not ok
        near_caught += ok and it.kind == "near"
        exact_caught += ok and it.kind == "exact"
    n_near = sum(it.kind == "near" for it in items)
    n_exact = sum(it.kind == "exact" for it in items)
    return {"precision": round(right / (right + wrong), 4) if right + wrong else 1.0,
            "near_recall": round(near_caught / n_near, 4) if n_near else 1.0,
            "exact_recall": round(exact_caught / n_exact, 4) if n_exact else 1.0,
            "wrong_decisions": wrong}


def real_pages(seed: int = 13) -> dict:
    """Real news pages with their real furniture (``devsets/extraction.jsonl.xz``: 34 news and magazine
    pages of mozilla/readability's test pages, Apache-2.0): each page goes through the parse stage
    (trafilatura's text, with whatever share bars, captions and teasers it kept), then the same story
    arrives again as another outlet's clean copy (readability's reviewed main text of that page, under
    another URL). The copy must be found (exact or near) as a copy of its own page; any other
    duplicate decision (between two different pages, or a copy to the wrong page) is a false merge.
    The plain MinHash LSH baseline runs on the same stream."""
    from pipeline.measure.eval.extraction import DEFAULT_DEVSET, load
    from pipeline.stages.parse import parse
    from schemas import RawArticle

    rows = load(DEFAULT_DEVSET)
    rng = random.Random(seed)
    when = datetime(2026, 11, 1, tzinfo=timezone.utc)
    items: list[Item] = []
    copies: list[Item] = []
    for k, row in enumerate(rows):
        raw = RawArticle.from_bytes(row["html"].encode("utf-8"), f"page/{row['name']}", media_type="text/html",
                                    received_at=when + timedelta(minutes=k))
        try:
            page = parse(raw, min_words=1)
        except Exception:  # noqa: BLE001 - a page the parse stage refuses is left out (and counted)
            continue
        items.append(Item(page.model_copy(update={"url": f"https://pages.example/{row['name']}"}), row["name"], "original"))
        body = row["body"] if isinstance(row["body"], str) else "\n".join(row["body"])
        copy = _article(f"clean/{row['name']}", row["title"], body, when + timedelta(hours=1, minutes=k),
                        f"https://clean.example/{row['name']}")
        # published when the page was (the same story, the same day), received an hour after it
        copies.append(Item(copy.model_copy(update={"published_at": page.published_at}), row["name"], "near"))
    rng.shuffle(copies)
    items += copies
    story = {it.article.id: it.group for it in items}
    group_story = {it.group: it.group for it in items}
    index = MemoryDedupIndex()
    ours = [r.article.duplicate_of if r.is_duplicate else None for r in (dedup(it.article, index) for it in items)]
    return {"pages": len(copies), "newsflow": _score(items, ours, story, group_story),
            "baseline_minhash_lsh_0.5": _score(items, baseline_minhash_lsh(items, 0.5), story, group_story)}


def evaluate(data_dir: Path, splits: tuple[str, ...] = ("valid", "test"), threshold: float = 0.5,
             cluster_threshold: float = 0.4, memory_articles: int = 20_000, seed: int = 13,
             containment_threshold: float = 0.8) -> dict:
    docs = load_documents(data_dir, splits)
    items = build_set(docs, seed)
    config = DedupConfig(threshold=threshold, containment_threshold=containment_threshold)
    index = MemoryDedupIndex(window_s=config.window_s)
    results = []
    gc.collect()
    t0 = time.process_time()
    for it in items:
        results.append(dedup(it.article, index, config))
    cpu = time.process_time() - t0

    # the label of an article is its story: a copy's story is its original's. Two originals that
    # CoNLL itself holds twice (word 3-shingle Jaccard >= SAME_TEXT, e.g. a re-sent result table)
    # are one story too; every other pair of originals is a negative.
    story = {it.article.id: it.group for it in items}
    for a, b in same_text_pairs(docs):
        for k, v in story.items():
            if v == docs[b].doc_id:
                story[k] = docs[a].doc_id
    group_story = {it.group: story[it.article.id] for it in items}

    tp = fp = fn = near_as_exact = 0
    exact_total = exact_caught = 0
    fp_examples = []
    for it, res in zip(items, results):
        out = res.article
        right_target = res.is_duplicate and story.get(out.duplicate_of) == group_story[it.group]
        if it.kind == "exact":
            exact_total += 1
            exact_caught += bool(right_target)
        if res.is_duplicate and getattr(out, "duplicate_kind", "") == "near":
            if right_target:
                tp += it.kind == "near"
            else:
                fp += 1
                if len(fp_examples) < 5:
                    fp_examples.append(f"{it.kind} {it.group} -> {story.get(out.duplicate_of)} ({out.similarity})")
        if it.kind == "near" and not right_target:
            fn += 1
        if it.kind == "near" and right_target and getattr(out, "duplicate_kind", "") != "near":
            near_as_exact += 1  # the edits left the canonical text unchanged (title, reflow, boilerplate)
    near_total = sum(1 for it in items if it.kind == "near")
    originals_flagged = sum(1 for it, r in zip(items, results) if it.kind == "original" and r.is_duplicate
                            and story.get(r.article.duplicate_of) != group_story[it.group])

    # independent reports of one event (same gold entities) must all pass
    pairs = same_event_pairs(docs)
    passed = {it.group for it, r in zip(items, results) if it.kind == "original" and not r.is_duplicate}
    pairs_passed = sum(1 for i, j in pairs if docs[i].doc_id in passed and docs[j].doc_id in passed)

    # the plain MinHash LSH baseline at Jaccard 0.5, on the same stream, scored the same way
    ours = _score(items, [r.article.duplicate_of if r.is_duplicate else None for r in results], story, group_story)
    t0 = time.process_time()
    base = _score(items, baseline_minhash_lsh(items, 0.5), story, group_story)
    base["articles_per_s"] = round(len(items) / (time.process_time() - t0), 1)

    memory = measure_memory(items, config, memory_articles)
    try:
        pages = real_pages(seed)
    except (OSError, ValueError) as exc:  # the dev set ships with the code; say so when it cannot be read
        pages = {"error": f"devsets/extraction.jsonl.xz: {exc}"}
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round((near_total - fn) / near_total, 4) if near_total else 1.0,
        "exact_recall": round(exact_caught / exact_total, 4) if exact_total else 1.0,
        "articles_per_s": round(len(items) / cpu, 1) if cpu else None,
        "bytes_per_article": memory["near_index"],
        "memory_bytes_per_article": memory,
        "all_decisions": ours,
        "baseline_minhash_lsh_0.5": base,
        "real_pages": pages,
        "articles": len(items),
        "originals": len(docs),
        "near_variants": near_total,
        "exact_copies": exact_total,
        "near_true_positives": tp,
        "near_false_positives": fp,
        "near_missed": fn,
        "near_variants_caught_as_exact": near_as_exact,
        "originals_flagged": originals_flagged,
        "originals_same_text_in_corpus": len(same_text_pairs(docs)),
        "same_event_pairs": len(pairs),
        "same_event_pairs_passed": pairs_passed,
        "threshold": threshold,
        "containment_threshold": containment_threshold,
        "splits": list(splits),
        "memory_articles": memory_articles,
        "false_positive_examples": fp_examples,
    }
