"""Replay: run records already on a stage's input topic through the pipeline again (issue 7).

Three ways, chosen on the command line (README, "Replay"):

``republish`` (default)
    The selected records are read with a group-less consumer (nothing is committed anywhere) and
    written again onto the *same* topic; the live workers then process them like new input. Records
    keep their ids: envelopes are re-sent unchanged, and a bare record that a producer wrote to
    ``news.raw`` is wrapped into a ``RawArticle`` whose origin is its *original* ``news.raw/P@O``, so
    the parse stage gives it the id it had the first time. The dedup index treats "same id again" as a
    redelivery, so replayed articles pass and downstream consumers upsert them.
``in-process`` (``--in-process``, or implied by ``--stages``)
    The selected records are run through the chosen stages inside the ``replay`` command (no
    worker needed, no group, no commit), and the last stage's output goes to that stage's output topic
    (duplicates to ``news.duplicates``, failures to ``news.dlq``). With ``--stages parse,dedup`` only
    those two run and the live workers carry on from ``news.unique``. The dedup index is seeded from
    the workers' changelog topic, so replayed articles are recognised as themselves.
``reset-group`` (``--reset-group``)
    Nothing is re-sent: the live consumer group's committed offsets on the topic are moved back to the
    start of the range, and the workers re-read everything from there when they (re)start. Only while
    the group has no live member: with workers running the command refuses (Kafka would reject the
    commit, and a running worker would overwrite it with its own position anyway).

Time ranges use Kafka's ``offsets_for_times``; every answer is checked against the records around it
(the embedded broker answers offset 0 with timestamp -1) and replaced by a binary search over the
partition when it is wrong.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from pipeline import topics
from pipeline.errors import ConfigError, StageError
from pipeline.kafka.admin import group_members, partition_ids, topic_exists
from pipeline.kafka.clients import make_producer, max_message_bytes, start_with_retry
from pipeline.kafka.wire import decode, encode, raw_from_message
from pipeline.settings import Settings
from schemas import Article, RawArticle

_RELATIVE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


# --------------------------------------------------------------------------------------------------
# parsing the command line's ranges
# --------------------------------------------------------------------------------------------------


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (``2025-02-14T10:00:00Z``; no zone means UTC) or relative to now (``90s``, ``30m``, ``2h``, ``7d``, ``1w``)."""
    now = now or datetime.now(timezone.utc)
    m = _RELATIVE_RE.match(text)
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])
    try:
        dt = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ConfigError(f"cannot read the time {text!r}: use ISO 8601 (2025-02-14T10:00:00Z) "
                          "or a relative time like 30m, 2h, 7d") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def parse_offsets(values: Iterable[str] | None, flag: str) -> tuple[int | None, dict[int, int]]:
    """``N`` (every partition) and/or ``P:N`` (one partition), repeatable."""
    every: int | None = None
    per: dict[int, int] = {}
    for v in values or []:
        for part in str(v).split(","):
            part = part.strip()
            if not part:
                continue
            p, sep, o = part.partition(":")
            try:
                if sep:
                    per[int(p)] = int(o)
                else:
                    every = int(p)
            except ValueError:
                raise ConfigError(f"{flag} {part!r}: expected OFFSET or PARTITION:OFFSET") from None
            if (per.get(int(p)) if sep else every) < 0:  # type: ignore[operator]
                raise ConfigError(f"{flag} {part!r}: offsets are not negative")
    return every, per


# --------------------------------------------------------------------------------------------------
# the plan: which offsets of which partitions
# --------------------------------------------------------------------------------------------------


@dataclass
class PartitionRange:
    partition: int
    start: int  #: first offset replayed
    stop: int  #: first offset NOT replayed
    lookup: str = "offsets"  #: how the start/stop were found: offsets, broker (offsets_for_times), scan

    @property
    def count(self) -> int:
        return max(0, self.stop - self.start)


@dataclass
class ReplayPlan:
    topic: str
    ranges: list[PartitionRange] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r.count for r in self.ranges)


def make_consumer(settings: Settings, **kw: Any) -> AIOKafkaConsumer:
    """A consumer with no group: it never commits, so it cannot disturb the workers' offsets."""
    return AIOKafkaConsumer(
        **settings.kafka_client_kwargs(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=max_message_bytes(settings) * 4,
        max_partition_fetch_bytes=max_message_bytes(settings),
        fetch_max_wait_ms=100,
        **kw,
    )


async def record_at(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, timeout: float = 10.0):
    """The first record at or after ``offset`` in ``tp`` (None past the end). The consumer must hold ``tp``."""
    consumer.seek(tp, offset)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    empty = 0
    while loop.time() < deadline:
        batch = await consumer.getmany(tp, timeout_ms=200, max_records=1)
        msgs = batch.get(tp)
        if msgs:
            return msgs[0]
        empty += 1
        if empty >= 2 and await consumer.position(tp) >= (await consumer.end_offsets([tp]))[tp]:
            return None
    raise ConfigError(f"no answer fetching {tp.topic}/{tp.partition}@{offset} within {timeout:.0f} s")


async def true_end_offsets(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """End offsets, checked by fetching past them.

    The embedded broker (Tansu 0.6.0) reports the end of a partition as the *base* offset of its last
    record batch + 1, so a batch of several records hides all but its first; a fetch from the reported
    end finds the rest. On Kafka the fetch comes back empty and the reported end stands.
    """
    ends = dict(await consumer.end_offsets(tps))
    for tp in tps:
        consumer.seek(tp, ends[tp])
    pending = set(tps)
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=300)
        if not batch:
            break
        for tp, msgs in batch.items():
            if msgs:
                ends[tp] = max(ends[tp], msgs[-1].offset + 1)
            else:
                pending.discard(tp)
    return ends


async def _timestamp_at(consumer, tp, offset: int) -> int | None:
    msg = await record_at(consumer, tp, offset)
    return None if msg is None else msg.timestamp


async def _answer_is_right(consumer, tp, ts_ms: int, answer, begin: int, end: int) -> bool:
    """Kafka's contract: the earliest offset whose timestamp is >= ts_ms (none: every timestamp is older)."""
    if answer is None:
        if end <= begin:
            return True
        last = await _timestamp_at(consumer, tp, end - 1)
        return last is not None and last < ts_ms
    off = answer.offset
    if off < begin or off > end:
        return False
    if off < end:
        if answer.timestamp < ts_ms:  # the embedded broker answers timestamp -1
            return False
        here = await _timestamp_at(consumer, tp, off)
        if here is None or here < ts_ms:
            return False
    if off > begin:
        before = await _timestamp_at(consumer, tp, off - 1)
        if before is None or before >= ts_ms:
            return False
    return True


async def scan_offset_for_time(consumer, tp, ts_ms: int, begin: int, end: int) -> int:
    """Binary search for the first offset whose timestamp is >= ts_ms (timestamps taken as non-decreasing)."""
    lo, hi = begin, end
    while lo < hi:
        mid = (lo + hi) // 2
        msg = await record_at(consumer, tp, mid)
        if msg is None:
            hi = mid
            continue
        if msg.timestamp >= ts_ms:
            hi = mid
        else:
            lo = max(msg.offset, mid) + 1  # a gap in the offsets jumps to the next real record
    return lo


async def offset_for_time(consumer, tp, ts_ms: int, begin: int, end: int) -> tuple[int, str]:
    """(offset, "broker" | "scan"): the broker's answer when it checks out, else a scan's."""
    try:
        answers = await consumer.offsets_for_times({tp: ts_ms})
        answer = answers.get(tp)
    except Exception:  # noqa: BLE001 - brokers without the API (or with a broken one): scan instead
        answer, ok = None, False
    else:
        ok = await _answer_is_right(consumer, tp, ts_ms, answer, begin, end)
    if ok:
        return (end if answer is None else answer.offset), "broker"
    return await scan_offset_for_time(consumer, tp, ts_ms, begin, end), "scan"


async def plan_replay(
    settings: Settings,
    topic: str,
    *,
    partitions: Iterable[int] | None = None,
    from_offsets: Iterable[str] | None = None,
    to_offsets: Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    consumer: AIOKafkaConsumer | None = None,
) -> ReplayPlan:
    """Turn the command line's range into offsets: ``start`` inclusive, ``stop`` exclusive, per partition.

    ``--to-offset`` is inclusive (the last offset replayed); ``--until`` keeps records whose
    timestamp is <= until.
    """
    if (from_offsets or to_offsets) and (since or until):
        raise ConfigError("give an offset range (--from-offset/--to-offset) or a time range (--since/--until), not both")
    if since and until and until < since:
        raise ConfigError("--until is before --since")
    every_from, per_from = parse_offsets(from_offsets, "--from-offset")
    every_to, per_to = parse_offsets(to_offsets, "--to-offset")
    own = consumer is None
    consumer = consumer or make_consumer(settings)
    if own:
        await start_with_retry(consumer.start, settings)
    try:
        existing = await partition_ids(settings, topic)
        wanted = sorted(set(partitions)) if partitions else (
            sorted(set(per_from) | set(per_to)) if (per_from or per_to) and every_from is None and every_to is None
            else existing)
        missing = [p for p in wanted if p not in existing]
        if missing:
            raise ConfigError(f"{topic} has partitions {existing[0]}..{existing[-1]}; no partition {missing[0]}")
        tps = [TopicPartition(topic, p) for p in wanted]
        consumer.assign(tps)
        begins = await consumer.beginning_offsets(tps)
        ends = await true_end_offsets(consumer, tps)
        plan = ReplayPlan(topic)
        for tp in tps:
            begin, end = begins[tp], ends[tp]
            start, stop, how = begin, end, "offsets"
            if since or until:
                how = "broker"
                if since:
                    start, h = await offset_for_time(consumer, tp, int(since.timestamp() * 1000), begin, end)
                    how = "scan" if h == "scan" else how
                if until:
                    stop, h = await offset_for_time(consumer, tp, int(until.timestamp() * 1000) + 1, begin, end)
                    how = "scan" if h == "scan" else how
            else:
                f = per_from.get(tp.partition, every_from)
                t = per_to.get(tp.partition, every_to)
                if f is not None:
                    start = min(max(f, begin), end)
                if t is not None:
                    stop = max(min(t + 1, end), begin)
            plan.ranges.append(PartitionRange(tp.partition, start, max(start, stop), how))
        return plan
    finally:
        if own:
            await consumer.stop()


# --------------------------------------------------------------------------------------------------
# reading the range, and the three ways of replaying it
# --------------------------------------------------------------------------------------------------


async def read_range(consumer: AIOKafkaConsumer, plan: ReplayPlan, batch_size: int = 500):
    """Yield lists of records of the plan, partition ranges interleaved, each record once."""
    todo = {TopicPartition(plan.topic, r.partition): r for r in plan.ranges if r.count > 0}
    if not todo:
        return
    consumer.assign(list(todo))
    for tp, r in todo.items():
        consumer.seek(tp, r.start)
    idle = 0
    while todo:
        batch = await consumer.getmany(*todo, timeout_ms=1000, max_records=batch_size)
        out = []
        for tp, msgs in batch.items():
            r = todo.get(tp)
            if r is None:
                continue
            out.extend(m for m in msgs if r.start <= m.offset < r.stop)
        for tp in list(todo):
            if await consumer.position(tp) >= todo[tp].stop:
                del todo[tp]
                consumer.pause(tp)
        if out:
            idle = 0
            yield out
        else:
            idle += 1
            if idle > 30:
                left = ", ".join(f"{tp.partition}@{await consumer.position(tp)}" for tp in todo)
                raise ConfigError(f"replay stalled: no records for 30 s (at {left})")


def republish_value(topic: str, msg) -> tuple[bytes | None, bytes]:
    """(key, value) to write again so that the record keeps its identity."""
    if topic != topics.RAW:
        return msg.key, msg.value
    raw = raw_from_message(msg.value, f"{msg.topic}/{msg.partition}@{msg.offset}")
    if msg.value and raw.origin == f"{msg.topic}/{msg.partition}@{msg.offset}" and raw.payload_bytes() == msg.value:
        # a bare record: the envelope carries the original origin, so the id stays the same
        ts = datetime.fromtimestamp(msg.timestamp / 1000, timezone.utc) if msg.timestamp and msg.timestamp > 0 else None
        raw = RawArticle.from_bytes(msg.value, raw.origin, received_at=ts)
        return raw.origin.encode(), encode(raw)
    return msg.key or raw.origin.encode(), msg.value


Progress = Callable[[int], Any]


async def _send_range(settings: Settings, plan: ReplayPlan, sends_for, progress: Progress | None,
                      batch_size: int = 500) -> dict[str, int]:
    """Read the plan's records batch by batch, send what ``sends_for(batch)`` returns ((topic, key, value)
    triples) and wait for the broker's acknowledgements; counts per topic."""
    consumer = make_consumer(settings)
    producer = make_producer(settings)
    await start_with_retry(consumer.start, settings)
    await start_with_retry(producer.start, settings)
    counts: dict[str, int] = {}
    try:
        async for msgs in read_range(consumer, plan, batch_size=batch_size):
            futures = []
            for t, key, value in await sends_for(msgs):
                futures.append(await producer.send(t, value=value, key=key))
                counts[t] = counts.get(t, 0) + 1
            await asyncio.gather(*futures)
            if progress:
                progress(len(msgs))
    finally:
        await producer.stop()
        await consumer.stop()
    return counts


async def replay_republish(settings: Settings, plan: ReplayPlan, progress: Progress | None = None) -> int:
    async def same_topic(msgs):
        return [(plan.topic, *republish_value(plan.topic, m)) for m in msgs]

    return (await _send_range(settings, plan, same_topic, progress)).get(plan.topic, 0)


def stages_to_run(topic: str, stages: Iterable[str] | None) -> list[str]:
    """The stages an in-process replay of ``topic`` runs: a contiguous run from the stage reading it."""
    order = list(topics.STAGES)
    first = next((s for s, (inp, _) in topics.STAGE_TOPICS.items() if inp == topic), None)
    if first is None:
        raise ConfigError(f"{topic} is not the input topic of any stage; stage input topics: "
                          + ", ".join(inp for inp, _ in topics.STAGE_TOPICS.values()))
    downstream = order[order.index(first):]
    chosen = list(stages) if stages else downstream
    unknown = [s for s in chosen if s not in order]
    if unknown:
        raise ConfigError(f"unknown stage {unknown[0]}; known: {', '.join(order)}")
    chosen = sorted(set(chosen), key=order.index)
    if chosen != downstream[: len(chosen)]:
        raise ConfigError(f"--stages must be a contiguous run starting at {first} (the stage reading {topic}); "
                          f"for example {','.join(downstream[:2])}")
    return chosen


async def load_dedup_index(settings: Settings, idle: float = 1.0):
    """The live workers' dedup index, read from its changelog topic (empty when there is none yet), as a
    ``TableDedupIndex`` over a plain dict: the same layout and the same decisions as the workers'."""
    from pipeline.stages.dedup.index import TableDedupIndex

    return TableDedupIndex(await read_dedup_changelog(settings, idle),
                           window_s=settings.dedup_window_days * 86400.0,
                           retention_s=settings.dedup_retention_days * 86400.0)


async def read_dedup_changelog(settings: Settings, idle: float = 1.0) -> dict:
    """Key -> latest value of the workers' dedup-index changelog (deleted keys left out)."""
    import orjson

    name = f"{settings.app_id}-dedup-index-changelog"
    consumer = make_consumer(settings)
    await start_with_retry(consumer.start, settings)
    index: dict = {}
    try:
        if not await topic_exists(settings, name):
            return index
        tps = [TopicPartition(name, p) for p in await partition_ids(settings, name)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:  # to the end: until a fetch comes back empty (end offsets are unreliable on Tansu)
            batch = await consumer.getmany(timeout_ms=int(idle * 1000))
            if not batch:
                break
            for msgs in batch.values():
                for m in msgs:
                    try:
                        key = orjson.loads(m.key)
                        index[key] = None if m.value is None else orjson.loads(m.value)
                    except (orjson.JSONDecodeError, TypeError):
                        continue
    finally:
        await consumer.stop()
    # entries as the dedup stage writes them (lists); anything else would only break the stage
    return {k: v for k, v in index.items() if isinstance(k, str) and isinstance(v, list) and v}


class InProcessReplay:
    """Run stages on records of a topic inside this process, through the same stage chain as the workers
    (``Pipeline.run``), and say what to send where."""

    def __init__(self, settings: Settings, stages: list[str], index: dict | None = None):
        from pipeline.stages.chain import Pipeline

        self.settings = settings
        self.stages = stages
        self.pipe = Pipeline(settings, index=index)  # None: a fresh in-memory index

    def run(self, msgs: list) -> list[tuple[str, bytes, bytes]]:
        """(topic, key, value) to send for a batch of input records."""
        from pipeline.stages.chain import dead_letter, dead_letter_key

        out: list[tuple[str, bytes, bytes]] = []

        def fail(err: StageError, payload: bytes, m) -> None:
            dl = dead_letter(err, payload, source_topic=m.topic, source_partition=m.partition, source_offset=m.offset)
            out.append((topics.DLQ, dead_letter_key(err), encode(dl)))

        live: list[tuple[Any, Any]] = []  # (message, the first stage's input)
        for m in msgs:
            origin = f"{m.topic}/{m.partition}@{m.offset}"
            if self.stages[0] == "parse":
                live.append((m, raw_from_message(m.value, origin)))
                continue
            try:
                live.append((m, decode(m.value or b"", Article)))
            except (ValueError, ValidationError) as exc:
                fail(StageError(self.stages[0], origin, f"record is not a valid article: {str(exc).splitlines()[0]}"),
                     m.value or b"", m)
        for (m, _), step in zip(live, self.pipe.run(self.stages, [item for _, item in live])):
            if step.error is not None:
                failed = step.input
                fail(step.error, failed.payload_bytes() if isinstance(failed, RawArticle) else encode(failed), m)
            else:
                out.append((step.topic, step.key, encode(step.record)))
                out.extend((t, k, encode(r)) for t, k, r in step.extras)
        return out


async def replay_in_process(settings: Settings, plan: ReplayPlan, stages: list[str],
                            progress: Progress | None = None) -> dict[str, int]:
    """Counts per output topic."""
    index = await load_dedup_index(settings) if "dedup" in stages else None
    runner = InProcessReplay(settings, stages, index)

    async def through_stages(msgs):  # CPU work off the event loop
        return await asyncio.get_running_loop().run_in_executor(None, runner.run, msgs)

    return await _send_range(settings, plan, through_stages, progress, batch_size=settings.tag_batch_size)


async def reset_group(settings: Settings, plan: ReplayPlan, group_id: str, wait_s: float = 0.0,
                      force: bool = False) -> dict[int, int]:
    """Commit ``start`` of every range as the group's offset on the topic.

    Refuses while the group has live members (after waiting up to ``wait_s`` for them to go), unless
    ``force``. Kafka lists a group as Empty once its workers stopped; the embedded broker never drops a
    member that left and then also rejects commits from outside the group (UnknownMemberId), so there
    only groups no worker has joined yet can be reset.
    """
    from aiokafka.errors import CommitFailedError, KafkaError
    from aiokafka.structs import OffsetAndMetadata

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not force and (members := await group_members(settings, group_id)) and loop.time() < deadline:
        await asyncio.sleep(1.0)
    if not force and members:
        raise ConfigError(f"consumer group {group_id!r} has {members} live member(s): stop the workers first "
                          "(on the embedded broker, which never forgets a member, add --force once they are "
                          "stopped), or replay without --reset-group (it re-sends the records and leaves the "
                          "group alone)")
    offsets = {TopicPartition(plan.topic, r.partition): OffsetAndMetadata(r.start, "newsflow replay --reset-group")
               for r in plan.ranges}
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs(), group_id=group_id, enable_auto_commit=False)
    await start_with_retry(consumer.start, settings)
    try:
        consumer.assign(list(offsets))
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            raise ConfigError(f"the broker refused the new offsets of group {group_id!r} ({type(exc).__name__}): "
                              "it still counts a member; on the embedded broker a group that a worker has "
                              "joined keeps it forever, so use a replay without --reset-group there") from None
        return {tp.partition: (await consumer.committed(tp)) for tp in offsets}
    finally:
        await consumer.stop()


async def committed_offsets(settings: Settings, group_id: str, topic: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs(), group_id=group_id, enable_auto_commit=False)
    await start_with_retry(consumer.start, settings)
    try:
        parts = await partition_ids(settings, topic)
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in parts}
    finally:
        await consumer.stop()
