"""The stage chain, in-process: what ``newsflow process`` runs and what every agent calls one step of.

``Pipeline`` holds the loaded resources (NER model, dedup index) and runs each stage through
``run_stage``, which times it, stamps the stage version and turns any exception into a ``StageError``
naming the stage and the article. Every input ends as exactly one ``Outcome``: enriched, duplicate
or dead letter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, TypeVar

from pydantic import BaseModel

import pipeline
from pipeline import topics
from pipeline.errors import StageError
from pipeline.settings import Settings
from pipeline.stages.dedup import stage as dedup_stage
from pipeline.stages.enrich import stage as enrich_stage
from pipeline.stages import normalize as normalize_stage
from pipeline.stages import parse as parse_stage
from pipeline.stages.tag import stage as tag_stage
from schemas import Article, DeadLetter, DuplicateArticle, EnrichedArticle, RawArticle

T = TypeVar("T")

STAGE_VERSIONS = {
    "parse": parse_stage.VERSION,
    "dedup": dedup_stage.VERSION,
    "normalize": normalize_stage.VERSION,
    "tag": tag_stage.VERSION,
    "enrich": enrich_stage.VERSION,
}

#: largest payload copied into a dead letter; the rest is cut (and flagged), the origin still points at it
DLQ_PAYLOAD_LIMIT = 256_000


@dataclass(frozen=True)
class Outcome:
    topic: str
    record: BaseModel

    @property
    def origin(self) -> str:
        return self.record.origin  # type: ignore[attr-defined]


def stamp(article: Article, stage: str, started: float) -> Article:
    timings = dict(article.timings)
    timings[stage] = round((time.perf_counter() - started) * 1000, 3)
    versions = dict(article.stage_versions)
    versions[stage] = STAGE_VERSIONS[stage]
    return article.model_copy(
        update={"timings": timings, "stage_versions": versions, "pipeline_version": pipeline.__version__}
    )


def run_stage(stage: str, origin: str, article_id: str | None, fn: Callable[[], T]) -> T:
    """Call one stage; any failure becomes a StageError naming the stage and the article."""
    try:
        return fn()
    except StageError:
        raise
    except RecursionError:
        raise StageError(stage, origin, "input nested too deeply", article_id) from None
    except MemoryError:
        raise StageError(stage, origin, "out of memory on this input", article_id) from None
    except Exception as exc:  # noqa: BLE001 - every failure is reported, never swallowed
        raise StageError(stage, origin, f"{type(exc).__name__}: {exc}", article_id) from exc


def dead_letter(
    err: StageError,
    payload: bytes,
    *,
    received_at=None,
    source_topic: str | None = None,
    source_partition: int | None = None,
    source_offset: int | None = None,
) -> DeadLetter:
    raw = RawArticle.from_bytes(payload[:DLQ_PAYLOAD_LIMIT], origin=err.origin)
    return DeadLetter(
        stage=err.stage,
        reason=err.reason,
        error_type=type(err.__cause__).__name__ if err.__cause__ else type(err).__name__,
        origin=err.origin,
        article_id=err.article_id,
        received_at=received_at,
        source_topic=source_topic,
        source_partition=source_partition,
        source_offset=source_offset,
        payload=raw.payload,
        payload_encoding=raw.payload_encoding,
        payload_truncated=len(payload) > DLQ_PAYLOAD_LIMIT,
    )


class Pipeline:
    def __init__(self, settings: Settings | None = None, index: dedup_stage.DedupIndex | None = None):
        self.settings = settings or Settings()
        if index is None:
            from pipeline.stages.dedup.index import MemoryDedupIndex

            index = MemoryDedupIndex(window_s=self.settings.dedup_window_days * 86400.0)
        self.index: Any = index
        self.dedup_config = dedup_stage.DedupConfig(
            threshold=self.settings.near_duplicate_threshold,
            cluster_threshold=self.settings.cluster_threshold,
            window_s=self.settings.dedup_window_days * 86400.0,
        )
        self._nlp = None
        self.custom_words = normalize_stage.load_custom_words(self.settings)

    @property
    def nlp(self):
        if self._nlp is None:
            self._nlp = tag_stage.load_model(self.settings.spacy_model)
        return self._nlp

    def warm_up(self, stages: Iterable[str] = ("normalize", "tag", "enrich")) -> None:
        """Load the models and dictionaries of ``stages`` now rather than on the first article."""
        stages = set(stages)
        sample = Article(id="warmup", origin="warmup", received_at="2025-01-01T00:00:00Z", raw_format="text",
                         title="Warm up", body="The Minister visited Paris on Monday.")
        if "normalize" in stages:
            self.normalize(sample)
            normalize_stage.warm_up()
        if "tag" in stages:
            self.tag_batch([sample])
        if "enrich" in stages:
            enrich_stage.warm_up()
            self.enrich(sample)

    # ---- one stage each --------------------------------------------------------------------------

    def parse(self, raw: RawArticle) -> Article:
        t0 = time.perf_counter()
        art = run_stage("parse", raw.origin, None, lambda: parse_stage.parse(raw, max_bytes=self.settings.max_payload_bytes))
        return stamp(art, "parse", t0)

    def dedup(self, article: Article) -> dedup_stage.DedupResult:
        t0 = time.perf_counter()
        res = run_stage("dedup", article.origin, article.id,
                        lambda: dedup_stage.dedup(article, self.index, self.dedup_config))
        return dedup_stage.DedupResult(stamp(res.article, "dedup", t0), res.is_duplicate)

    def normalize(self, article: Article) -> Article:
        t0 = time.perf_counter()
        art = run_stage(
            "normalize", article.origin, article.id,
            lambda: normalize_stage.normalize(article, custom_words=self.custom_words),
        )
        return stamp(art, "normalize", t0)

    def tag_batch(self, articles: list[Article]) -> list[Article | StageError]:
        """Tag many articles in one model pass; an article that fails alone is retried alone."""
        if not articles:
            return []
        t0 = time.perf_counter()
        try:
            tagged = tag_stage.tag_batch(articles, self.nlp, batch_size=self.settings.tag_batch_size)
        except Exception:  # noqa: BLE001 - isolate the article that breaks the batch
            out: list[Article | StageError] = []
            for a in articles:
                try:
                    out.extend(self.tag_batch_one(a))
                except StageError as err:
                    out.append(err)
            return out
        per = (time.perf_counter() - t0) / len(articles)
        return [stamp(a, "tag", time.perf_counter() - per) for a in tagged]

    def tag_batch_one(self, article: Article) -> list[Article]:
        t0 = time.perf_counter()
        art = run_stage("tag", article.origin, article.id, lambda: tag_stage.tag(article, self.nlp))
        return [stamp(art, "tag", t0)]

    def enrich(self, article: Article) -> EnrichedArticle:
        t0 = time.perf_counter()
        art = run_stage(
            "enrich", article.origin, article.id,
            lambda: enrich_stage.enrich(article, enrichers=self.settings.enrichers),
        )
        art = stamp(art, "enrich", t0)
        return EnrichedArticle.model_validate(art.model_dump())

    # ---- the whole chain -------------------------------------------------------------------------

    def process(self, raws: Iterable[RawArticle]) -> list[Outcome]:
        """Run every input through every stage; one Outcome per input, in input order."""
        raws = list(raws)
        outcomes: list[Outcome | None] = [None] * len(raws)
        pending: list[tuple[int, Article]] = []
        for i, raw in enumerate(raws):
            try:
                art = self.parse(raw)
                res = self.dedup(art)
                if res.is_duplicate:
                    outcomes[i] = Outcome(topics.DUPLICATES, res.article)
                    continue
                pending.append((i, self.normalize(res.article)))
            except StageError as err:
                outcomes[i] = Outcome(topics.DLQ, dead_letter(err, raw.payload_bytes(), received_at=raw.received_at))
        tagged = self.tag_batch([a for _, a in pending])
        for (i, _), art in zip(pending, tagged):
            try:
                if isinstance(art, StageError):
                    raise art
                outcomes[i] = Outcome(topics.ENRICHED, self.enrich(art))
            except StageError as err:
                outcomes[i] = Outcome(topics.DLQ, dead_letter(err, raws[i].payload_bytes(), received_at=raws[i].received_at))
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]


__all__ = ["Outcome", "Pipeline", "dead_letter", "run_stage", "DuplicateArticle"]
