"""The stage chain: one abstraction that the agents, ``newsflow process`` and in-process replay all run.

``Pipeline`` holds the loaded resources (NER model, dedup index). Two calls do all the work:

- ``apply(stage, items)`` runs one stage on a batch and returns one ``Step`` per item, in order: the
  record for the stage's output topic, a duplicate for ``news.duplicates``, or the ``StageError`` for
  ``news.dlq``. It never raises for an article's failure. A stage that works on the whole batch at once
  (tag: one model pass) is retried one article at a time when the batch fails, so one article's failure
  stays its own; this is the only place that fallback is written.
- ``run(stages, items)`` chains ``apply`` over consecutive stages: one final ``Step`` per input.

A worker's agent calls ``apply`` for its stage (in the event loop, a thread, or the tag processes);
``process`` runs every stage; in-process replay runs a contiguous run of them. Each stage call is
timed, stamped with the stage's version, and any exception becomes a ``StageError`` naming the stage
and the article (``run_stage``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TypeVar

from pydantic import BaseModel

import pipeline
from pipeline import topics
from pipeline.errors import StageError
from pipeline.settings import Settings
from pipeline.stages import normalize as normalize_stage
from pipeline.stages import parse as parse_stage
from pipeline.stages.dedup import stage as dedup_stage
from pipeline.stages.enrich import stage as enrich_stage
from pipeline.stages.stories import stage as stories_stage
from pipeline.stages.tag import stage as tag_stage
from schemas import Article, DeadLetter, EnrichedArticle, RawArticle

T = TypeVar("T")

STAGE_VERSIONS = {
    "parse": parse_stage.VERSION,
    "dedup": dedup_stage.VERSION,
    "normalize": normalize_stage.VERSION,
    "tag": tag_stage.VERSION,
    "enrich": enrich_stage.VERSION,
    "stories": stories_stage.VERSION,
}

#: largest payload copied into a dead letter; the rest is cut (and flagged), the origin still points at it
DLQ_PAYLOAD_LIMIT = 256_000


@dataclass(frozen=True)
class Outcome:
    """Where one input of ``process`` ended: the record written to a terminal topic."""

    topic: str
    record: BaseModel

    @property
    def origin(self) -> str:
        return self.record.origin  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Step:
    """What one stage made of one item: ``record`` for ``topic``, or ``error`` (``topic`` is news.dlq).

    ``input`` is the item the stage was given, so a caller can dead-letter what the stage saw.
    ``extras``: more records the step writes beside its record, as (topic, key, record): the stories
    stage's story update for news.stories."""

    topic: str
    record: BaseModel | None = None
    error: StageError | None = None
    input: BaseModel | None = None
    extras: tuple[tuple[str, bytes, BaseModel], ...] = ()

    @property
    def key(self) -> bytes:
        """The Kafka key the record is written with: news.parsed is keyed for the dedup partitioner, the rest
        by article id (a dead letter's is ``dead_letter_key``)."""
        if self.topic == topics.PARSED:
            return dedup_stage.partition_key(self.record)  # type: ignore[arg-type]
        return self.record.id.encode()  # type: ignore[union-attr]


def stamp(article: Article, stage: str, started: float) -> Article:
    timings = dict(article.timings)
    timings[stage] = round((time.perf_counter() - started) * 1000, 3)
    versions = dict(article.stage_versions)
    versions[stage] = STAGE_VERSIONS[stage]
    return article.model_copy(
        update={"timings": timings, "stage_versions": versions, "pipeline_version": pipeline.__version__}
    )


def stage_error(stage: str, origin: str, article_id: str | None, exc: BaseException) -> StageError:
    """Any exception raised by a stage, as a StageError naming the stage and the article."""
    if isinstance(exc, StageError):
        return exc
    if isinstance(exc, RecursionError):
        return StageError(stage, origin, "input nested too deeply", article_id)
    if isinstance(exc, MemoryError):
        return StageError(stage, origin, "out of memory on this input", article_id)
    err = StageError(stage, origin, f"{type(exc).__name__}: {exc}", article_id)
    err.__cause__ = exc
    return err


def run_stage(stage: str, origin: str, article_id: str | None, fn: Callable[[], T]) -> T:
    """Call one stage; any failure becomes a StageError naming the stage and the article."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, never swallowed
        err = stage_error(stage, origin, article_id, exc)
        if err is exc:
            raise
        raise err from err.__cause__  # None (too deep, out of memory): the huge context is not kept


def dead_letter_key(err: StageError) -> bytes:
    """A dead letter's Kafka key: the article id, or the origin when the article never got one."""
    return (err.article_id or err.origin).encode()


def dead_letter(
    err: StageError,
    payload: bytes,
    *,
    received_at=None,
    source_topic: str | None = None,
    source_partition: int | None = None,
    source_offset: int | None = None,
    size: int | None = None,
) -> DeadLetter:
    """``size``: the whole input's size when ``payload`` is only its head (a file too large to read)."""
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
        payload_truncated=max(len(payload), size or 0) > min(len(payload), DLQ_PAYLOAD_LIMIT),
    )


def _failed(stage: str, item: Any, exc: BaseException) -> Step:
    """The dead-letter Step of ``item``, whose stage raised ``exc``."""
    return Step(topics.DLQ, error=stage_error(stage, item.origin, getattr(item, "id", None), exc), input=item)


class Pipeline:
    def __init__(self, settings: Settings | None = None, index: dedup_stage.DedupIndex | None = None,
                 story_index: stories_stage.StoryIndex | None = None):
        self.settings = settings or Settings()
        self.story_config = stories_stage.StoryConfig(
            threshold=self.settings.story_threshold, window_s=self.settings.story_window_days * 86400.0)
        if story_index is None:
            from pipeline.stages.stories.index import MemoryStoryIndex

            story_index = MemoryStoryIndex(window_s=self.story_config.window_s)
        self.story_index: Any = story_index
        if index is None:
            from pipeline.stages.dedup.index import MemoryDedupIndex

            index = MemoryDedupIndex(window_s=self.settings.dedup_window_days * 86400.0,
                                     retention_s=self.settings.dedup_retention_days * 86400.0)
        self.index: Any = index
        self.dedup_config = dedup_stage.DedupConfig(
            threshold=self.settings.near_duplicate_threshold,
            containment_threshold=self.settings.near_containment_threshold,
            cluster_threshold=self.settings.cluster_threshold,
            window_s=self.settings.dedup_window_days * 86400.0,
            retention_s=self.settings.dedup_retention_days * 86400.0,
        )
        self._nlp = None
        self.custom_words = normalize_stage.load_custom_words(self.settings)
        #: stage -> a function of a whole batch; it raises only when the batch fails as a whole
        self._batch_fns: dict[str, Callable[[list], list[Step]]] = {
            "parse": self._each("parse", lambda raw: Step(topics.PARSED, self.parse(raw))),
            "dedup": self._each("dedup", self._dedup_step),
            "normalize": self._each("normalize", lambda a: Step(topics.NORMALIZED, self.normalize(a))),
            "tag": self._tag_all,
            "enrich": self._each("enrich", lambda a: Step(topics.UNCLUSTERED, self.enrich(a))),
            "stories": self._each("stories", self._stories_step),
        }

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
            self.apply("tag", [sample])
        if "enrich" in stages:
            enrich_stage.warm_up()
            self.enrich(sample)

    # ---- one stage on one article ----------------------------------------------------------------

    def parse(self, raw: RawArticle) -> Article:
        t0 = time.perf_counter()
        art = run_stage("parse", raw.origin, None, lambda: parse_stage.parse(raw, max_bytes=self.settings.max_payload_bytes,
                                                                         min_words=self.settings.min_body_words))
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

    def enrich(self, article: Article) -> EnrichedArticle:
        t0 = time.perf_counter()
        art = run_stage(
            "enrich", article.origin, article.id,
            lambda: enrich_stage.enrich(article, enrichers=self.settings.enrichers),
        )
        art = stamp(art, "enrich", t0)
        return EnrichedArticle.model_validate(art.model_dump())

    def stories(self, article: Article) -> stories_stage.StoriesResult:
        t0 = time.perf_counter()
        res = run_stage("stories", article.origin, article.id,
                        lambda: stories_stage.assign(article, self.story_index, self.story_config))
        art = EnrichedArticle.model_validate(stamp(res.article, "stories", t0).model_dump())
        return stories_stage.StoriesResult(art, res.story)

    # ---- one stage on a batch --------------------------------------------------------------------

    def _stories_step(self, article: Article) -> Step:
        res = self.stories(article)
        return Step(topics.ENRICHED, res.article, extras=((topics.STORIES, res.story.story_id.encode(), res.story),))

    def _dedup_step(self, article: Article) -> Step:
        res = self.dedup(article)
        return Step(topics.DUPLICATES if res.is_duplicate else topics.UNIQUE, res.article)

    @staticmethod
    def _each(stage: str, one: Callable[[Any], Step]) -> Callable[[list], list[Step]]:
        """A batch function for a stage that works article by article: a failure stays its article's."""

        def batch(items: list) -> list[Step]:
            out = []
            for item in items:
                try:
                    out.append(one(item))
                except Exception as exc:  # noqa: BLE001 - becomes this article's dead letter
                    out.append(_failed(stage, item, exc))
            return out

        return batch

    def _tag_all(self, articles: list[Article]) -> list[Step]:
        """Tag many articles in one model pass (the model's cost is per batch, not per article)."""
        t0 = time.perf_counter()
        tagged = tag_stage.tag_batch(articles, self.nlp, batch_size=self.settings.tag_batch_size)
        per = (time.perf_counter() - t0) / len(articles)
        return [Step(topics.TAGGED, stamp(a, "tag", time.perf_counter() - per)) for a in tagged]

    def apply(self, stage: str, items: Sequence) -> list[Step]:
        """Run ``stage`` on ``items``: one Step per item, in order; the batch first, then one by one."""
        items = list(items)
        if not items:
            return []
        fn = self._batch_fns[stage]
        try:
            return fn(items)
        except Exception as exc:  # noqa: BLE001 - the batch failed as a whole: each article alone, to find the culprit
            if len(items) == 1:
                return [_failed(stage, items[0], exc)]
            return self._each(stage, lambda item: fn([item])[0])(items)

    def run(self, stages: Sequence[str], items: Sequence) -> list[Step]:
        """Run ``items`` through consecutive ``stages``: each item's last Step (the last stage's output,
        a duplicate or a dead letter), in input order."""
        final: list[Step | None] = [None] * len(items)
        live: list[tuple[int, Any]] = list(enumerate(items))
        for n, stage in enumerate(stages):
            output = topics.STAGE_TOPICS[stage][1]
            last = n == len(stages) - 1
            steps = self.apply(stage, [item for _, item in live])
            nxt = []
            for (i, _), step in zip(live, steps):
                if step.topic == output and not last:
                    nxt.append((i, step.record))
                else:
                    final[i] = step
            live = nxt
        assert all(s is not None for s in final)
        return final  # type: ignore[return-value]

    # ---- the whole chain -------------------------------------------------------------------------

    def process(self, raws: Iterable[RawArticle]) -> list[Outcome]:
        """Run every input through every stage; one Outcome per input, in input order. A dead letter
        carries the input's raw payload, whichever stage failed."""
        raws = list(raws)
        outcomes = []
        for raw, step in zip(raws, self.run(topics.STAGES, raws)):
            if step.error is not None:
                outcomes.append(Outcome(topics.DLQ, dead_letter(step.error, raw.payload_bytes(),
                                                                received_at=raw.received_at)))
            else:
                outcomes.append(Outcome(step.topic, step.record))  # type: ignore[arg-type]
        return outcomes


__all__ = ["Outcome", "Pipeline", "Step", "dead_letter", "dead_letter_key", "run_stage", "stage_error"]
