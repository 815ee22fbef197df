"""``newsflow eval stories``: story pair precision and recall on real news, beside the dedup stage's key-term
clusters (``cluster_id``) in the same run.

The set (``devsets/stories-ecbplus.jsonl.xz``, built by ``devsets/build_stories.py`` from ECB+, CC BY 3.0):
982 real news articles, 86 stories (43 topics x two incidents of one kind: two rehab check-ins, two
earthquakes, two shootings), from many outlets. Every article goes through normalize, tag and enrich
(untimed), then, in one seeded shuffled order, through

- the stories stage (``assign``, a fresh ``MemoryStoryIndex``), and
- the baseline: the dedup stage (``dedup``, a fresh ``MemoryDedupIndex``), whose ``cluster_id`` is the
  key-term clustering (a near-duplicate takes its original's cluster).

A pair of articles is positive when both carry the same story label. Pair precision: of the pairs put in
one story, the share that are one incident; recall: of the same-incident pairs, the share put in one
story. "Across outlets": only the pairs whose two articles have known, different outlets (the ECB+
``ecbplus`` half carries its URL; the older ``ecb`` half has none and counts only in the overall figures).
"Topic confusions": wrong pairs from the two incidents of one topic (same kind of event).

``--furniture``: the same set as twelve outlets would serve it (each article, in a seeded order, gets one
outlet's share bar, video playlist, newsletter and paywall teasers and photo credit, naming the outlet's
city and its usual hospital; the URL becomes the outlet's). Different stories put together from one
outlet (``wrong_same_outlet``) are then the merges furniture can cause; the outlets are all known, so
"across outlets" covers every pair from two outlets.

The articles carry no publish time (ECB+ has none); they are given receive times a minute apart, so the
window never separates them: the figures measure the content decision alone.
"""

from __future__ import annotations

import json
import lzma
import random
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path
from typing import Any

from schemas import Article

DEFAULT_SET = Path(__file__).resolve().parents[3] / "devsets" / "stories-ecbplus.jsonl.xz"
SEED = 23


def load(path: Path = DEFAULT_SET) -> list[dict]:
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


#: the furniture variant's outlets: host, its city, its usual hospital
OUTLETS = [
    ("springfield-ledger.example", "Springfield", "Mercy General Hospital"),
    ("dayton-daily.example", "Dayton", "Miami Valley Hospital"),
    ("fresno-bee-line.example", "Fresno", "Community Regional Medical Center"),
    ("tulsa-tribune.example", "Tulsa", "Saint Francis Hospital"),
    ("boise-courier.example", "Boise", "St. Luke's Boise Medical Center"),
    ("omaha-post.example", "Omaha", "Nebraska Medical Center"),
    ("reno-gazette-wire.example", "Reno", "Renown Regional Medical Center"),
    ("akron-beacon-news.example", "Akron", "Akron General Hospital"),
    ("toledo-blade-online.example", "Toledo", "ProMedica Toledo Hospital"),
    ("spokane-review.example", "Spokane", "Sacred Heart Medical Center"),
    ("modesto-herald.example", "Modesto", "Memorial Medical Center"),
    ("lubbock-journal.example", "Lubbock", "University Medical Center"),
]


def furnish(article: Article, n: int) -> Article:
    """The article as outlet ``n % 12`` would serve it: its share bar, video playlist, newsletter and paywall
    teasers and photo credit around the text, naming the outlet's city and hospital."""
    host, city, hospital = OUTLETS[n % len(OUTLETS)]
    name = host.split(".")[0].replace("-", " ").title()
    head = "Email Facebook Twitter Print Comments"
    tail = [
        f"Watch more videos from the {city} newsroom. Playlist: {city} traffic update; {hospital} visiting hours; "
        f"{city} weather for the weekend.",
        f"Thank you for reading! Sign up for the {name} newsletter for the latest {city} news. "
        "This is premium content for subscribers.",
        f"Photo: {name} staff. Copyright {name}. All rights reserved.",
    ]
    slug = article.origin.rsplit("/", 1)[-1].removesuffix(".xml")
    return article.model_copy(update={"body": "\n".join([head, article.body, *tail]),
                                      "url": f"https://{host}/news/{slug}"})


def articles_of(rows: list[dict], furniture: bool = False) -> list[Article]:
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    arts = [Article(id=f"ecbplus-{i:04d}", origin=f"ecbplus/{r['doc']}", received_at=base + timedelta(minutes=i),
                    raw_format="text", url=r.get("url"), source=None, title=r["title"], body=r["body"])
            for i, r in enumerate(rows)]
    if furniture:  # outlets assigned in a seeded order, so each serves a mix of stories
        order = list(range(len(arts)))
        random.Random(SEED + 1).shuffle(order)
        for n, i in enumerate(order):
            arts[i] = furnish(arts[i], n)
    return arts


def pair_scores(labels: list[str], sources: list[str | None], clusters: list[str], topics: list[str]) -> dict[str, Any]:
    """Pair precision/recall overall and across outlets, and where the wrong pairs come from."""
    tp = fp = fn = 0
    x_tp = x_fp = x_fn = 0
    same_outlet_wrong = topic_confusions = 0
    for i, j in combinations(range(len(labels)), 2):
        gold = labels[i] == labels[j]
        pred = clusters[i] == clusters[j]
        across = sources[i] is not None and sources[j] is not None and sources[i] != sources[j]
        if pred and gold:
            tp += 1
            x_tp += across
        elif pred:
            fp += 1
            x_fp += across
            same_outlet_wrong += sources[i] is not None and sources[i] == sources[j]
            topic_confusions += topics[i] == topics[j]
        elif gold:
            fn += 1
            x_fn += across

    def ratio(a: int, b: int) -> float:
        return round(a / b, 4) if b else 1.0

    return {
        "pair_precision": ratio(tp, tp + fp), "pair_recall": ratio(tp, tp + fn),
        "across_outlets_precision": ratio(x_tp, x_tp + x_fp), "across_outlets_recall": ratio(x_tp, x_tp + x_fn),
        "pairs_predicted": tp + fp, "pairs_wrong": fp, "wrong_same_outlet": same_outlet_wrong,
        "wrong_same_topic": topic_confusions, "clusters": len(set(clusters)),
    }


def enrich_all(articles: list[Article], settings=None) -> list[Article]:
    from pipeline.stages.chain import Pipeline

    pipe = Pipeline(settings)
    steps = pipe.run(["normalize", "tag", "enrich"], articles)
    bad = [s.error for s in steps if s.error is not None]
    if bad:
        raise RuntimeError(f"{len(bad)} dev-set article(s) failed before the stories stage: {bad[0]}")
    return [s.record for s in steps]  # type: ignore[misc]


def evaluate(path: Path = DEFAULT_SET, *, settings=None, enriched: list[Article] | None = None,
             config=None, seed: int = SEED, furniture: bool = False) -> dict[str, Any]:
    from pipeline.stages.dedup.index import MemoryDedupIndex
    from pipeline.stages.dedup.stage import DedupConfig, dedup
    from pipeline.stages.stories.index import MemoryStoryIndex
    from pipeline.stages.stories.stage import StoryConfig, assign, source_of

    rows = load(path)
    arts = enriched if enriched is not None else enrich_all(articles_of(rows, furniture), settings)
    order = list(range(len(arts)))
    random.Random(seed).shuffle(order)
    labels = [rows[i]["story"] for i in order]
    topics = [rows[i]["topic"] for i in order]
    stream = [arts[i] for i in order]
    sources = [source_of(a) for a in stream]

    cfg = config or StoryConfig()
    index = MemoryStoryIndex(window_s=cfg.window_s)
    t0 = time.process_time()
    results = [assign(a, index, cfg) for a in stream]
    cpu = time.process_time() - t0
    stories = [r.article.story_id or "" for r in results]

    dcfg = DedupConfig()
    if settings is not None:
        dcfg = DedupConfig(threshold=settings.near_duplicate_threshold, cluster_threshold=settings.cluster_threshold)
    didx = MemoryDedupIndex()
    baseline = [dedup(a, didx, dcfg).article.cluster_id or a.id for a in stream]

    explained = sum(1 for r in results if r.article.story and (r.article.story.started or r.article.story.matched))
    return {
        "set": str(path.name) + (" (with outlet furniture)" if furniture else ""), "articles": len(stream), "stories_gold": len(set(labels)),
        "outlets_known": sum(1 for s in sources if s), "seed": seed,
        "stories": pair_scores(labels, sources, stories, topics),
        "baseline_dedup_cluster_id": pair_scores(labels, sources, baseline, topics),
        "stories_articles_per_s": round(len(stream) / cpu, 1) if cpu else None,
        "explained_share": round(explained / len(stream), 4) if stream else 1.0,
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
    }
