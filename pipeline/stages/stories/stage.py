"""Stories stage: an article joins the story (the incident) it reports, across outlets.

Pure and synchronous; its state sits behind a ``StoryIndex`` (``pipeline.stages.stories.index``: a
``MemoryStoryIndex`` in tests, ``newsflow process`` and ``newsflow eval stories``; a changelog-backed
Faust table in the worker). It runs after enrich: entities (tag), places with GeoNames ids and keywords
(enrich) are there.

1. Features: *who* (PERSON and ORG entities), *where* (places by GeoNames id, else by name, and FAC
   entities), *what* (the enrich keywords' words and the headline's content words, numbers).
2. Weights, by specificity:
   - rarity in general English (wordfreq's Zipf frequency of the word or name: "police" weighs little,
     "Lohan" much);
   - rarity in the stream: a feature in more than ~1% of the window's articles loses weight (an IDF
     learned online);
   - rarity within the outlet: a feature in many of one outlet's articles (its city, its hospitals, its
     share bar) gets none; this is what made the dedup stage's key-term clusters group one outlet;
   - ``furniture_weight``: a small hook giving share-bar and page-furniture words no weight (to be replaced
     by the dedup stage's furniture recogniser).
3. Decision: the candidate stories are those sharing a weighted feature, still open in the window
   (event time); the best one is joined when its similarity clears ``threshold`` *and* at least two of
   who/where/what agree (one shared name or place is not a story; two shootings share words but not
   their place and people), and no place conflict vetoes it (both name places, none in common, and
   fewer than two shared people). Otherwise the article starts a story.

The story id is ``s-`` and the id of its first article: stable across replays. A redelivered article
(same id) gets the story it got before. The article carries ``story_id`` and ``story`` (a ``StoryLink``:
score, the agreeing kinds, the shared features with their weights); every decision also yields the
story's new state (``Story``) for ``news.stories``.

``cluster_id`` (the dedup stage's key-term cluster) is left as it was, for existing readers; it is
deprecated in favour of ``story_id``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable, Protocol

from schemas import Article, Story, StoryLink, StoryMember, StoryTerm
from pipeline.stages.dedup.stage import event_time  # one definition of event time for dedup and stories

STAGE = "stories"
VERSION = "1"

KINDS = ("who", "where", "what")

#: share bars, comment widgets, newsletter and paywall teasers, captions and credits: words that are
#: page furniture when they appear, never what a story is about (a hook until the furniture recogniser
#: of the dedup stage replaces it)
FURNITURE_WORDS = frozenset(
    "email e-mail facebook twitter print share shares comment comments whatsapp linkedin pinterest reddit "
    "instagram youtube tiktok subscribe subscriber subscribers newsletter newsletters sign login log click "
    "advertisement advertising sponsored copyright reserved rights photo photos video videos playlist "
    "image images caption credit credits gallery reprints permission premium content reading thank thanks "
    "read more related story stories updated published file getty ap reuters afp staff writer".split()
)

_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_YEARISH = re.compile(r"^(?:1[89]\d\d|20\d\d)$")


def furniture_weight(term: str) -> float:
    """The hook for page furniture: 0 for share-bar, widget and credit words, 1 otherwise."""
    return 0.0 if term in FURNITURE_WORDS else 1.0


@lru_cache(maxsize=200_000)
def general_rarity(text: str) -> float:
    """0..1: how rare ``text`` (a word or a name) is in general English (wordfreq): Zipf 6+ -> ~0, Zipf <= 2 -> 1."""
    from wordfreq import zipf_frequency

    z = zipf_frequency(text, "en")
    return max(0.0, min(1.0, (6.5 - z) / 4.5))


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from pipeline.stages.enrich.text import stopwords

    return frozenset(stopwords())


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).casefold().replace("’", "'")
    s = re.sub(r"'s$", "", s.strip())
    return re.sub(r"\s+", " ", s).strip(" .,;:-'\"")


def _stem(w: str) -> str:
    """Plural and simple verb endings folded (``shootings`` -> ``shooting``, ``killed`` -> ``kill``)."""
    for suf, rep in (("ies", "y"), ("sses", "ss"), ("ed", ""), ("s", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: len(w) - len(suf)] + rep
    return w


# --------------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Features:
    """What the stories stage knows of one article: feature key -> (kind, label as written)."""

    keys: dict[str, tuple[str, str]]
    ts: float
    source: str | None

    def of_kind(self, kind: str) -> list[str]:
        return [k for k, (kd, _) in self.keys.items() if kd == kind]


def source_of(article: Article) -> str | None:
    """The outlet: the article's source name, else its URL's host."""
    if article.source:
        return _fold(article.source) or None
    if article.url:
        from urllib.parse import urlsplit

        try:
            host = urlsplit(article.url).netloc.lower()
        except ValueError:
            return None
        return host.removeprefix("www.") or None
    return None


def features(article: Article) -> Features:
    keys: dict[str, tuple[str, str]] = {}
    stop = _stopwords()
    for ent in article.entities:
        name = _fold(ent.canonical or ent.text)
        if not name or len(name) < 2:
            continue
        if ent.label == "PERSON":
            keys.setdefault("p:" + name, ("who", ent.canonical or ent.text))
            parts = name.split()
            if len(parts) >= 2 and len(parts[-1]) >= 3:  # "Lohan" alone, as later paragraphs name her
                keys.setdefault("p:" + parts[-1], ("who", parts[-1]))
        elif ent.label == "ORG":
            keys.setdefault("o:" + name, ("who", ent.canonical or ent.text))
        elif ent.label == "FAC":
            keys.setdefault("f:" + name, ("where", ent.canonical or ent.text))
    for place in article.places:
        if place.geonames_id:
            keys.setdefault(f"g:{place.geonames_id}", ("where", place.name))
        elif name := _fold(place.name):
            keys.setdefault("l:" + name, ("where", place.name))
    names = {w for k, (kd, label) in keys.items() if kd in ("who", "where") for w in _fold(label).split()}
    words: list[str] = []
    for kw in article.keywords:
        words.extend(_WORD.findall(_fold(kw)))
    words.extend(_WORD.findall(_fold(article.title)))
    for w in words:
        if len(w) < 3 or w in stop or w in names:
            continue
        keys.setdefault("w:" + _stem(w), ("what", w))
    head = f"{article.title}\n{(article.body or '')[:600]}"
    for n in _NUMBER.findall(head):
        n = n.replace(",", "")
        if len(n) >= 2 and not _YEARISH.match(n):
            keys.setdefault("n:" + n, ("what", n))
    return Features(keys, event_time(article), source_of(article))


# --------------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------------


@dataclass
class StoryState:
    """A story as the index remembers it: its members and, per feature, how many members have it."""

    story_id: str
    title: str
    first_ts: float
    last_ts: float
    counts: dict[str, int] = field(default_factory=dict)
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    members: list[dict] = field(default_factory=list)  # article_id, title, source, url, ts, score

    @property
    def size(self) -> int:
        return len(self.members)

    def to_json(self) -> dict:
        return {"story_id": self.story_id, "title": self.title, "first_ts": self.first_ts, "last_ts": self.last_ts,
                "counts": self.counts, "labels": {k: list(v) for k, v in self.labels.items()},
                "members": self.members}

    @classmethod
    def from_json(cls, d: dict) -> "StoryState":
        return cls(d["story_id"], d.get("title", ""), float(d["first_ts"]), float(d["last_ts"]),
                   dict(d.get("counts") or {}), {k: (v[0], v[1]) for k, v in (d.get("labels") or {}).items()},
                   list(d.get("members") or []))


class Stats(Protocol):
    """Document frequencies over the window: all articles, and per outlet."""

    n_docs: int

    def df(self, key: str) -> int: ...

    def source_docs(self, source: str) -> int: ...

    def source_df(self, source: str, key: str) -> int: ...


class StoryIndex(Protocol):
    """What the stories stage needs of its state (``pipeline.stages.stories.index`` implements it)."""

    @property
    def stats(self) -> Stats: ...

    def placed(self, article_id: str) -> str | None:
        """The story an article already joined (a redelivery), or None."""

    def story(self, story_id: str) -> StoryState | None: ...

    def candidates(self, keys: Iterable[str], since: float) -> list[StoryState]:
        """Stories (last member at or after ``since``) that have any of ``keys``."""

    def add(self, article_id: str, feats: Features, story: StoryState) -> None:
        """Remember the article (its features count in the statistics) and the story's new state."""


@dataclass(frozen=True)
class StoryConfig:
    threshold: float = 0.3  # similarity to join a story
    window_s: float = 3 * 86400.0  # a story stays open this long after its latest member (event time)
    min_weight: float = 0.35  # a kind agrees when its shared weight reaches this
    source_share: float = 0.15  # a feature in this share of an outlet's articles gets no weight
    stream_share: float = 0.02  # a feature in this share of the window's articles loses half its weight
    max_members: int = 500  # members listed on a story record (the count goes on)
    probe_features: int = 16  # the article's heaviest features that look up candidate stories


def weight(key: str, label: str, feats_source: str | None, stats: Stats, cfg: StoryConfig) -> float:
    """Specificity of one feature for an article of ``feats_source``: general, stream and outlet rarity."""
    text = key[2:]
    if key.startswith("g:"):
        text = _fold(label)
    first = text.split()[0] if text else text
    f = furniture_weight(first)
    if f == 0.0:
        return 0.0
    w = general_rarity(text)
    if key.startswith(("p:", "o:", "f:", "g:", "l:")):
        w = max(w, 0.35)  # a name is evidence even when it is also a common word
    elif key.startswith("n:"):
        w = 0.5
    n = stats.n_docs
    if n:
        w /= 1.0 + stats.df(key) / max(5.0, cfg.stream_share * n)
    if feats_source:
        sn = stats.source_docs(feats_source)
        if sn >= 2:  # smoothed: two articles of an outlet sharing a feature do not zero it, five of ten do
            share = stats.source_df(feats_source, key) / (sn + 3.0)
            w *= max(0.0, 1.0 - share / cfg.source_share)
    return w * f


@dataclass(frozen=True)
class StoriesResult:
    article: Article
    story: Story


def _iso(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def story_record(st: StoryState, weights: dict[str, float], updated_by: str) -> Story:
    shared = sorted(((c, k) for k, c in st.counts.items() if c >= 2 or st.size == 1), reverse=True)
    terms = []
    for c, k in shared[:40]:
        kind, label = st.labels.get(k, ("what", k[2:]))
        terms.append(StoryTerm(kind=kind, term=k, label=label, weight=round(weights.get(k, 0.0) * c / st.size, 3)))
    terms.sort(key=lambda t: -t.weight)
    return Story(
        story_id=st.story_id, title=st.title, first_seen=_iso(st.first_ts), last_seen=_iso(st.last_ts),
        article_count=st.size, sources=sorted({m["source"] for m in st.members if m.get("source")}),
        terms=terms[:12],
        members=[StoryMember(article_id=m["article_id"], title=m.get("title", ""), source=m.get("source"),
                             url=m.get("url"), event_time=_iso(m["ts"]), score=m.get("score", 0.0))
                 for m in st.members],
        updated_by=updated_by,
    )


def assign(article: Article, index: StoryIndex, config: StoryConfig | None = None) -> StoriesResult:
    """Place ``article`` in the story it reports (or a new one); remember it; the article with its story
    fields and the story's new state."""
    cfg = config or StoryConfig()
    feats = features(article)
    stats = index.stats
    weights = {k: weight(k, label, feats.source, stats, cfg) for k, (_, label) in feats.keys.items()}

    again = index.placed(article.id)
    if again is not None and (st := index.story(again)) is not None:
        link = StoryLink(story_id=st.story_id, title=st.title, started=st.story_id == "s-" + article.id,
                         reason="redelivery: the story it joined before")
        return StoriesResult(article.model_copy(update={"story_id": st.story_id, "story": link}),
                             story_record(st, weights, article.id))

    live = [k for k, w in weights.items() if w > 0.0]
    wa = sum(weights[k] for k in live)
    best, best_sim, best_detail = None, 0.0, None
    if wa > 0:
        # candidates through the article's most specific features only: a common word would fetch every story
        probe = sorted(live, key=lambda k: -weights[k])[:cfg.probe_features]
        for st in index.candidates(probe, feats.ts - cfg.window_s):
            if st.first_ts > feats.ts + cfg.window_s:
                continue
            detail = _compare(feats, weights, live, wa, st, stats, cfg)
            if detail is not None and detail[0] >= cfg.threshold and detail[0] > best_sim:
                best, best_sim, best_detail = st, detail[0], detail
    member = {"article_id": article.id, "title": article.title, "source": feats.source, "url": article.url,
              "ts": feats.ts, "score": round(best_sim, 4) if best is not None else 0.0}
    if best is None:
        st = StoryState("s-" + article.id, article.title, feats.ts, feats.ts)
        link = StoryLink(story_id=st.story_id, title=st.title, started=True,
                         reason="no story in the window shares enough who/where/what")
    else:
        st = best
        _, kinds, matched = best_detail  # type: ignore[misc]
        link = StoryLink(
            story_id=st.story_id, title=st.title, score=round(best_sim, 4), kinds=kinds,
            matched=[StoryTerm(kind=feats.keys[k][0], term=k, label=feats.keys[k][1], weight=round(w, 3))
                     for k, w in matched[:10]],
            reason=f"similarity {best_sim:.2f} >= {cfg.threshold:.2f}; {'+'.join(kinds)} agree",
        )
    st.first_ts, st.last_ts = min(st.first_ts, feats.ts), max(st.last_ts, feats.ts)
    for k, lab in feats.keys.items():
        st.counts[k] = st.counts.get(k, 0) + 1
        st.labels.setdefault(k, lab)
    st.members.append(member)
    if len(st.members) > cfg.max_members:
        st.members = st.members[-cfg.max_members:]
    index.add(article.id, feats, st)
    out = article.model_copy(update={"story_id": st.story_id, "story": link})
    return StoriesResult(out, story_record(st, weights, article.id))


def _compare(feats: Features, weights: dict[str, float], live: list[str], wa: float, st: StoryState,
             stats: Stats, cfg: StoryConfig):
    """(similarity, agreeing kinds, shared features by weight) of an article and a story, or None when
    the agreement rule rejects it."""
    n = max(1, st.size)
    shared: list[tuple[str, float]] = []
    by_kind = {k: 0.0 for k in KINDS}
    for key in live:
        c = st.counts.get(key, 0)
        if not c:
            continue
        support = min(1.0, 2.0 * c / n)
        w = weights[key] * support
        shared.append((key, w))
        by_kind[feats.keys[key][0]] += w
    if not shared:
        return None
    # the story's own weight: its features as the article's outlet would weigh them, by member share
    ws = 0.0
    for key, c in st.counts.items():
        share = c / n
        if share < 0.34 and n > 2:
            continue
        lab = st.labels.get(key, ("what", key[2:]))[1]
        ws += weight(key, lab, feats.source, stats, cfg) * min(1.0, 2.0 * share)
    sim = sum(w for _, w in shared) / math.sqrt(wa * max(ws, 1e-9))
    kinds = [k for k in KINDS if by_kind[k] >= cfg.min_weight]
    if "what" not in kinds or len(kinds) < 2:
        return None  # what happened, and who or where: a shared city and hospital alone are not a story
    if "where" not in kinds and by_kind["where"] == 0.0:
        mine = [k for k in feats.of_kind("where") if weights.get(k, 0.0) > 0.3]
        theirs = [k for k, c in st.counts.items() if st.labels.get(k, ("",))[0] == "where" and c / n >= 0.5]
        people = sum(1 for k, _ in shared if k.startswith("p:"))
        if mine and theirs and people < 2:
            return None  # both name their places, none in common: two incidents of one kind
    shared.sort(key=lambda kw: -kw[1])
    return sim, kinds, shared


__all__ = ["Features", "StoriesResult", "StoryConfig", "StoryIndex", "StoryState", "assign", "features",
           "furniture_weight", "weight"]
