"""The worker's agents: one per stage, all made by ``StageAgents.agent``, each a thin loop around the chain.

An agent reads its stage's input topic, turns each record into the stage's input (a raw article for
parse, an article for the others), hands the batch to ``Pipeline.apply`` and writes each ``Step`` to its
topic: the next stage's input, ``news.duplicates`` or ``news.dlq``. Where the stage runs:

- parse, dedup, normalize, stories: one record at a time (``stream.events``), in the event loop;
- tag: batches (``stream.take_events``) in ``tag_processes`` child processes, each with its own
  interpreter and GIL (``pipeline.stages.tag.process``), or in the worker's CPU thread with
  ``tag_in_process = false``;
- enrich: batches in the worker's CPU thread.

Every failure on one article (a stage's ``StageError``, a record that is no article, a bug, an injected
fault) sends that article to ``news.dlq`` with the stage, the reason, its input and where it was read
(topic, partition, offset), and the stream goes on. Faust would otherwise restart the agent and ack the
event: a silent skip.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

import faust
from pydantic import ValidationError

from pipeline import topics
from pipeline.errors import StageError
from pipeline.faust_fixes.transactions import CommitBarrier, source_partition
from pipeline.kafka.admin import topic_partitions
from pipeline.kafka.wire import decode, encode, raw_from_message
from pipeline.settings import Settings
from pipeline.stages.chain import Pipeline, Step, dead_letter, dead_letter_key
from pipeline.worker.faults import FaultInjector
from schemas import Article

log = logging.getLogger("newsflow.worker")

#: runs a stage on a batch of inputs (in the loop, a thread or the tag processes)
Runner = Callable[[list], Awaitable[list[Step]]]


def origin_of(event) -> str:
    m = event.message
    return f"{m.topic}/{m.partition}@{m.offset}"


def unexpected(stage: str, origin: str, exc: BaseException, article_id: str | None = None) -> StageError:
    """Any exception an agent did not expect becomes a StageError for this one article."""
    if isinstance(exc, StageError):
        return exc
    log.error("unexpected error in stage %s on %s", stage, origin, exc_info=exc,
              extra={"stage": stage, "origin": origin, "article_id": article_id})
    err = StageError(stage, origin, f"unexpected {type(exc).__name__}: {str(exc)[:500]}", article_id)
    err.__cause__ = exc
    return err


@dataclass
class Input:
    """One record read by an agent, as its stage's input, with what its dead letter needs."""

    event: Any
    item: Any  #: RawArticle (parse) or Article
    payload: bytes  #: the bytes a dead letter carries
    received_at: Any = None


def topic_objects(app: faust.App, settings: Settings) -> dict[str, faust.TopicT]:
    parts = topic_partitions(settings)
    return {name: app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
                            partitions=n) for name, n in parts.items()}


async def _one_by_one(stream) -> AsyncIterator[list]:
    async for event in stream.events():
        yield [event]


class StageAgents:
    def __init__(self, app: faust.App, settings: Settings, pipe: Pipeline, cpu: Executor):
        self.app, self.settings, self.pipe, self.cpu = app, settings, pipe, cpu
        self.topics = topic_objects(app, settings)
        self.faults = FaultInjector(settings.fault_inject)
        # exactly-once: commits wait for the records an agent started on (pipeline/faust_fixes/transactions.py)
        self.barrier = CommitBarrier() if settings.processing_guarantee == "exactly_once" else None
        app.newsflow_commit_barrier = self.barrier  # type: ignore[attr-defined]
        self.metrics = None  #: pipeline.worker.metrics.WorkerMetrics, set by create_app (issue 21)
        if self.faults:
            log.warning("fault injection is ON: %s", settings.fault_inject)

    # ---- where a stage runs ----------------------------------------------------------------------

    def inline(self, stage: str) -> Runner:
        async def run(items: list) -> list[Step]:
            return self.pipe.apply(stage, items)
        return run

    def in_thread(self, stage: str) -> Runner:
        async def run(items: list) -> list[Step]:
            return await asyncio.get_running_loop().run_in_executor(self.cpu, self.pipe.apply, stage, items)
        return run

    # ---- the agent -------------------------------------------------------------------------------

    def agent(self, stage: str, run: Runner, *, batch: bool = False, after: Callable[[], None] | None = None):
        """The agent of ``stage``: records of its input topic through ``run``, each Step to its topic."""
        in_t = self.topics[topics.STAGE_TOPICS[stage][0]]
        size, wait = self.settings.tag_batch_size, max(self.settings.tag_batch_wait_s, 0.001)

        async def agent(stream):
            source = stream.take_events(size, within=wait) if batch else _one_by_one(stream)
            async for events in source:
                if self.barrier is not None:
                    await self.barrier.enter(e.message for e in events)
                if self.metrics is not None:
                    self.metrics.read(stage, len(events))
                inputs = [i for i in [await self.read(stage, e) for e in events] if i is not None]
                if not inputs:
                    continue
                if batch and self.metrics is not None:
                    self.metrics.batch(stage, len(inputs))
                try:
                    steps = await run([i.item for i in inputs])
                except Exception as exc:  # noqa: BLE001 - the runner itself failed (a child process died...)
                    steps = [Step(topics.DLQ, error=unexpected(stage, i.item.origin, exc, getattr(i.item, "id", None)))
                             for i in inputs]
                for inp, step in zip(inputs, steps):
                    await self.deliver(stage, inp, step)
                    if after is not None:
                        after()

        agent.__name__ = f"{stage}_agent"
        agent.__qualname__ = agent.__name__
        return self.app.agent(in_t, name=f"newsflow.{stage}")(agent)

    async def read(self, stage: str, event) -> Input | None:
        """The stage's input from a record, or None after sending the record to news.dlq."""
        origin, value = origin_of(event), event.value or b""
        if stage == "parse":
            inp = Input(event, None, value)
            try:
                raw = raw_from_message(event.value, origin)
                inp = Input(event, raw, raw.payload_bytes(), raw.received_at)
                self.faults.check(stage, inp.payload)
                return inp
            except Exception as exc:  # noqa: BLE001
                await self.to_dlq(unexpected(stage, inp.item.origin if inp.item else origin, exc), inp)
                return None
        try:
            art = decode(value, Article)
        except (ValueError, ValidationError) as exc:
            reason = f"record is not a valid article: {str(exc).splitlines()[0]}"
            await self.to_dlq(StageError(stage, origin, reason), Input(event, None, value))
            return None
        inp = Input(event, art, value)
        try:
            self.faults.check(stage, art.title, art.body)
        except Exception as exc:  # noqa: BLE001
            await self.to_dlq(unexpected(stage, art.origin, exc, art.id), inp)
            return None
        return inp

    async def deliver(self, stage: str, inp: Input, step: Step) -> None:
        if step.error is not None:
            await self.to_dlq(step.error, inp)
            return
        try:
            with source_partition(inp.event.message.tp):  # exactly-once: the input partition's transaction
                await self.topics[step.topic].send(key=step.key, value=encode(step.record))
                for topic, key, record in step.extras:  # the story update beside the article
                    await self.topics[topic].send(key=key, value=encode(record))
        except Exception as exc:  # noqa: BLE001
            await self.to_dlq(unexpected(stage, inp.item.origin, exc, getattr(inp.item, "id", None)), inp)
            return
        if self.metrics is not None:
            self.metrics.step(stage, step.topic, step.record)

    async def to_dlq(self, err: StageError, inp: Input) -> None:
        m = inp.event.message
        dl = dead_letter(err, inp.payload, received_at=inp.received_at,
                         source_topic=m.topic, source_partition=m.partition, source_offset=m.offset)
        log.warning("dead letter: %s", err, extra={"stage": err.stage, "origin": err.origin,
                                                   "article_id": err.article_id})
        try:
            with source_partition(m.tp):
                await self.topics[topics.DLQ].send(key=dead_letter_key(err), value=encode(dl))
        except Exception:  # noqa: BLE001
            # Cannot even dead-letter it: stop hard, before the offset of this input is committed, so it
            # is delivered again after the restart instead of being skipped (at-least-once, never a gap).
            log.critical("cannot write to %s; exiting so that the input is redelivered", topics.DLQ, exc_info=True)
            os._exit(70)
        if self.metrics is not None:
            self.metrics.step(err.stage, topics.DLQ, reason=err.reason)


def register_agents(app: faust.App, settings: Settings, pipe: Pipeline, cpu: Executor,
                    tag_runner: Runner | None = None, after_dedup: Callable[[], None] | None = None,
                    after_stories: Callable[[], None] | None = None) -> StageAgents:
    """One agent per stage in ``settings.stages``."""
    agents = StageAgents(app, settings, pipe, cpu)
    plan: dict[str, tuple[Runner, bool, Callable[[], None] | None]] = {
        "parse": (agents.inline("parse"), False, None),
        "dedup": (agents.inline("dedup"), False, after_dedup),
        "normalize": (agents.inline("normalize"), False, None),
        "tag": (tag_runner or agents.in_thread("tag"), True, None),
        "enrich": (agents.in_thread("enrich"), True, None),
        "stories": (agents.inline("stories"), False, after_stories),
    }
    for stage in topics.STAGES:
        if stage in settings.stages:
            run, batch, after = plan[stage]
            agents.agent(stage, run, batch=batch, after=after)
    return agents


# issue 9 (benchmark): the no-op pipeline
def register_noop_agents(app: faust.App, settings: Settings) -> None:
    """Benchmark/diagnostic mode (``noop = true``): one agent per stage forwards each record, key and
    value bytes untouched, from the stage's input topic to its output topic. Same topics, partitions
    and hops as the real pipeline (6 consume->produce hops from news.raw to news.enriched), no stage
    work, so ``newsflow bench`` can compare it hop for hop with a raw aiokafka loop."""
    by_name = topic_objects(app, settings)

    def forwarder(stage: str, src: faust.TopicT, dst: faust.TopicT) -> None:
        async def forward(stream):
            async for event in stream.events():
                await dst.send(key=event.key, value=event.value)

        forward.__name__ = f"noop_{stage}"
        app.agent(src, name=f"newsflow.noop.{stage}")(forward)

    for stage, (src, dst) in topics.STAGE_TOPICS.items():
        if stage in settings.stages:
            forwarder(stage, by_name[src], by_name[dst])


__all__ = ["Input", "StageAgents", "register_agents", "register_noop_agents"]
