"""``newsflow dlq list|show|redrive``: read, filter and repair the dead letters on ``news.dlq``.

A dead letter is named by where it is: ``P@O`` (partition and offset on ``news.dlq``). Filters: the stage,
a reason substring (case-insensitive) and a time range on ``failed_at``.

Re-driving a dead letter sends what failed back to where it entered, keeping its origin, so the article
gets the id it had and the dedup stage's decisions stay the same:

- a failure in ``parse`` (or a dead letter written by ``newsflow process``/``ingest``, which carries the raw
  input whatever the stage) goes back to ``news.raw`` as a ``RawArticle`` with the dead letter's origin,
  payload and receive time: the id is ``sha256(origin, payload)`` again, and dedup sees the article for the
  first time, as it would have;
- a failure in a later stage carries that stage's input (the article as the stage received it, with its
  id and the dedup decision already made); it goes back to that stage's input topic (``source_topic``) with
  the key that topic is written with, so it does not pass through dedup twice.

A dead letter whose payload was cut (``payload_truncated``) cannot be re-driven: it is reported and left.
Each re-driven record carries the header ``newsflow-redriven-from: news.dlq/P@O``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from aiokafka import TopicPartition

from pipeline import topics
from pipeline.errors import ConfigError
from pipeline.kafka.admin import admin_client, require_topic
from pipeline.kafka.clients import make_producer, start_with_retry
from pipeline.kafka.wire import decode, encode
from pipeline.ops.status import group_consumer, topic_partitions_of
from pipeline.settings import Settings
from schemas import Article, DeadLetter, RawArticle


@dataclass(frozen=True)
class Entry:
    partition: int
    offset: int
    letter: DeadLetter

    @property
    def ref(self) -> str:
        return f"{self.partition}@{self.offset}"


def parse_ref(text: str) -> tuple[int, int]:
    p, sep, o = text.strip().partition("@")
    if not sep or not p.isdigit() or not o.isdigit():
        raise ConfigError(f"dead letter {text!r} is not PARTITION@OFFSET (as `newsflow dlq list` shows it)")
    return int(p), int(o)


def matches(dl: DeadLetter, stage: str | None, reason: str | None, since: datetime | None,
            until: datetime | None) -> bool:
    if stage and dl.stage != stage:
        return False
    if reason and reason.lower() not in dl.reason.lower():
        return False
    if since and dl.failed_at < since:
        return False
    if until and dl.failed_at > until:
        return False
    return True


async def read_dead_letters(settings: Settings, *, stage: str | None = None, reason: str | None = None,
                            since: datetime | None = None, until: datetime | None = None,
                            refs: Iterable[str] | None = None) -> tuple[list[Entry], list[str]]:
    """The dead letters on ``news.dlq`` that match, in (partition, offset) order, and the problems found (records
    that are no dead letter, refs that name none)."""
    await require_topic(settings, topics.DLQ)
    wanted = {parse_ref(r) for r in refs} if refs else None
    consumer = group_consumer(settings)
    await start_with_retry(consumer.start, settings)
    out: list[Entry] = []
    problems: list[str] = []
    try:
        admin = admin_client(settings)
        await start_with_retry(admin.start, settings)
        try:
            tps = await topic_partitions_of(admin, [topics.DLQ])
        finally:
            await admin.close()
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        if wanted is not None:
            tps = [tp for tp in tps if any(p == tp.partition for p, _ in wanted)]
        todo = {tp: end[tp] for tp in tps if end[tp] > begin[tp]}
        consumer.assign(list(todo) or tps)
        for tp in todo:
            start = begin[tp]
            if wanted is not None:  # only the partition's wanted offsets: start at the first of them
                start = max(start, min(o for p, o in wanted if p == tp.partition))
            consumer.seek(tp, start)
        deadline = time.monotonic() + 60
        while todo and time.monotonic() < deadline:
            batch = await consumer.getmany(*todo, timeout_ms=500)
            for tp, msgs in batch.items():
                for m in msgs:
                    if m.offset >= todo.get(tp, -1):
                        continue
                    if wanted is not None and (tp.partition, m.offset) not in wanted:
                        continue
                    try:
                        dl = decode(m.value, DeadLetter)
                    except ValueError:
                        problems.append(f"{tp.partition}@{m.offset}: not a dead letter record")
                        continue
                    if matches(dl, stage, reason, since, until):
                        out.append(Entry(tp.partition, m.offset, dl))
            for tp in list(todo):
                if await consumer.position(tp) >= todo[tp]:
                    todo.pop(tp)
            if wanted is not None and len(out) == len(wanted):
                break
        if wanted is not None:
            found = {(e.partition, e.offset) for e in out}
            problems += [f"{p}@{o}: no dead letter there" for p, o in sorted(wanted - found)]
    finally:
        await consumer.stop()
    out.sort(key=lambda e: (e.partition, e.offset))
    return out, problems


def redrive_record(dl: DeadLetter) -> tuple[str, bytes, bytes]:
    """(topic, key, value) that re-drives ``dl``; ValueError saying why it cannot be."""
    if dl.payload_truncated:
        raise ValueError("its payload was cut at the dead-letter size limit; ingest the original again")
    payload = RawArticle(origin=dl.origin, payload=dl.payload, payload_encoding=dl.payload_encoding).payload_bytes()
    if dl.stage == "parse" or dl.source_topic in (None, topics.RAW):
        raw = RawArticle.from_bytes(payload, dl.origin, received_at=dl.received_at or dl.failed_at)
        return topics.RAW, raw.origin.encode(), encode(raw)
    if dl.source_topic not in topics.ALL_TOPICS:
        raise ValueError(f"it was read from {dl.source_topic}, which is no stage's input")
    try:
        art = decode(payload, Article)
    except ValueError as exc:
        raise ValueError(f"its payload is not the article stage {dl.stage} was given: {str(exc).splitlines()[0]}") \
            from None
    if dl.source_topic == topics.PARSED:
        from pipeline.stages.dedup.stage import partition_key

        return topics.PARSED, partition_key(art), payload
    return dl.source_topic, art.id.encode(), payload


async def redrive(settings: Settings, entries: list[Entry], dry_run: bool = False) -> tuple[list[tuple[Entry, str]],
                                                                                             list[tuple[Entry, str]]]:
    """Re-drive ``entries``: ([(entry, topic it went to)], [(entry, why not)]), sent and acknowledged."""
    plan, refused = [], []
    for e in entries:
        try:
            plan.append((e, redrive_record(e.letter)))
        except ValueError as exc:
            refused.append((e, str(exc)))
    if dry_run or not plan:
        return [(e, rec[0]) for e, rec in plan], refused
    producer = make_producer(settings)
    await start_with_retry(producer.start, settings)
    try:
        futures = []
        for e, (topic, key, value) in plan:
            futures.append(await producer.send(topic, value=value, key=key,
                                               headers=[("newsflow-redriven-from", f"{topics.DLQ}/{e.ref}".encode())]))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [(e, rec[0]) for e, rec in plan], refused
