"""Ground truth downstream of the pipeline: what the terminal topics hold, and what a sink made of it.

``TerminalReader`` reads ``news.enriched``, ``news.duplicates`` and ``news.dlq`` from the beginning (no
consumer group, nothing committed), so it sees every record the workers wrote, redeliveries included.
``sink_rows`` turns the enriched records into rows of a real PostgreSQL table, upserted by article id:
the exactly-once *effect* of an at-least-once stream. It is the one place to swap in the real sink of
issue 7 (``pipeline/connectors/sinks/postgres.py``) once it is merged: replace the body of ``sink_rows`` with a
call to that class; ``account`` only needs ``(id, origin)`` rows back.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import orjson

from pipeline import topics
from pipeline.kafka.clients import max_message_bytes
from pipeline.settings import Settings



# --------------------------------------------------------------------------------------------------
# PostgreSQL: the sink (a tiny upsert-by-id writer until issue 7's sink is merged)
# --------------------------------------------------------------------------------------------------


class GroundTruthTable:
    """One table ``id text primary key`` holding each enriched article once, whatever the deliveries."""

    def __init__(self, conn, name: str):
        from psycopg import sql

        self.conn, self.name = conn, name
        self.ident = sql.Identifier(name)
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self.ident))
            cur.execute(sql.SQL(
                "CREATE TABLE {} (id text PRIMARY KEY, origin text NOT NULL, title text, body text, "
                "record jsonb NOT NULL, deliveries integer NOT NULL DEFAULT 1)").format(self.ident))

    def upsert(self, records: list[dict]) -> None:
        from psycopg import sql
        from psycopg.types.json import Jsonb

        q = sql.SQL(
            "INSERT INTO {t} (id, origin, title, body, record) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET origin = EXCLUDED.origin, title = EXCLUDED.title, "
            "body = EXCLUDED.body, record = EXCLUDED.record, deliveries = {t}.deliveries + 1"
        ).format(t=self.ident)
        with self.conn.cursor() as cur:
            cur.executemany(q, [(r["id"], r["origin"], r.get("title"), r.get("body"), Jsonb(r)) for r in records])

    def rows(self) -> list[tuple[str, str, int]]:
        from psycopg import sql

        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT id, origin, deliveries FROM {}").format(self.ident))
            return list(cur.fetchall())

    def drop(self) -> None:
        from psycopg import sql

        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self.ident))


def sink_rows(table: GroundTruthTable, enriched: list[dict]) -> list[tuple[str, str]]:
    """Write the enriched records to the sink (upsert by id); return the sink's rows as (id, origin).

    Swap point for issue 7: ``PostgresSink(DSN, table=...).write(records)`` and read its rows back.
    """
    for i in range(0, len(enriched), 500):
        table.upsert(enriched[i:i + 500])
    return [(rid, origin) for rid, origin, _ in table.rows()]


# --------------------------------------------------------------------------------------------------
# Reading the terminal topics
# --------------------------------------------------------------------------------------------------


class TerminalReader:
    """Reads the three terminal topics from the start; ``origins`` says which inputs came out so far."""

    def __init__(self, settings: Settings, isolation_level: str = "read_uncommitted"):
        """``read_committed``: only what committed transactions wrote (exactly-once mode's view)."""
        self.settings = settings
        self.isolation_level = isolation_level
        self.records: dict[str, list[dict]] = {t: [] for t in topics.TERMINAL}
        self.origins: set[str] = set()
        self._consumer = None

    async def start(self) -> "TerminalReader":
        from aiokafka import AIOKafkaConsumer

        self._consumer = AIOKafkaConsumer(
            *topics.TERMINAL, **self.settings.kafka_client_kwargs(), auto_offset_reset="earliest",
            enable_auto_commit=False, group_id=None, metadata_max_age_ms=2000, isolation_level=self.isolation_level,
            max_partition_fetch_bytes=max_message_bytes(self.settings), fetch_max_bytes=64 * 1024 * 1024,
        )
        await self._consumer.start()
        return self

    async def poll(self, timeout_ms: int = 300) -> int:
        batch = await self._consumer.getmany(timeout_ms=timeout_ms)
        n = 0
        for tp, msgs in batch.items():
            for m in msgs:
                rec = orjson.loads(m.value)
                self.records[tp.topic].append(rec)
                self.origins.add(rec["origin"])
                n += 1
        return n

    async def until(self, expected: set[str], timeout: float, settle: float = 3.0) -> bool:
        """Read until every expected origin came out (then ``settle`` seconds more), or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.poll()
            if expected <= self.origins:
                end = time.monotonic() + settle
                while time.monotonic() < end:
                    await self.poll()
                return True
        return False

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    def counts(self) -> dict[str, int]:
        return {t: len(v) for t, v in self.records.items()}


# --------------------------------------------------------------------------------------------------
# The accounting: every input exactly once downstream
# --------------------------------------------------------------------------------------------------


@dataclass
class Accounting:
    inputs: int
    sink_rows: int
    duplicates: int
    dead_letters: int
    redeliveries: dict[str, int]
    lost: list[str] = field(default_factory=list)
    counted_twice: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    duplicate_rows: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.counted_twice or self.unknown or self.duplicate_rows)

    def summary(self) -> str:
        return (f"inputs={self.inputs} sink_rows={self.sink_rows} duplicates={self.duplicates} "
                f"dead_letters={self.dead_letters} lost={len(self.lost)} counted_twice={len(self.counted_twice)} "
                f"duplicate_rows={len(self.duplicate_rows)} unknown={len(self.unknown)} "
                f"redelivered_records={self.redeliveries}"
                + (f" e.g. lost {self.lost[:3]} twice {self.counted_twice[:3]} dup-rows {self.duplicate_rows[:3]}"
                   if not self.ok else ""))


def account(inputs: list[str], rows: list[tuple[str, str]], reader: TerminalReader) -> Accounting:
    """Each input origin must be exactly once in: sink rows, distinct duplicates, distinct dead letters.

    Redeliveries of the same record (same article id on news.enriched / news.duplicates, same origin
    and stage on news.dlq) are allowed by at-least-once and folded; anything else counted twice is not.
    """
    dups = {r["id"]: r["origin"] for r in reader.records[topics.DUPLICATES]}
    dead = {(r["origin"], r["stage"]): r for r in reader.records[topics.DLQ]}
    where: dict[str, list[str]] = defaultdict(list)
    for rid, origin in rows:
        where[origin].append(f"sink:{rid}")
    for rid, origin in dups.items():
        where[origin].append(f"dup:{rid}")
    for origin, stage in dead:
        where[origin].append(f"dlq:{stage}")
    expected = Counter(inputs)
    row_ids = Counter(rid for rid, _ in rows)
    redelivered = {t: len(v) - len({(r.get("id"), r["origin"], r.get("stage")) for r in v})
                   for t, v in reader.records.items()}
    return Accounting(
        inputs=len(inputs), sink_rows=len(rows), duplicates=len(dups), dead_letters=len(dead),
        redeliveries=redelivered,
        lost=sorted(o for o in expected if o not in where),
        counted_twice=sorted(o for o, w in where.items() if len(w) > 1 or expected.get(o, 0) > 1),
        unknown=sorted(o for o in where if o not in expected),
        duplicate_rows=sorted(i for i, n in row_ids.items() if n > 1),
    )


async def wait_for(pred, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = pred()
        if asyncio.iscoroutine(ok):
            ok = await ok
        if ok:
            return True
        await asyncio.sleep(every)
    return False


# --------------------------------------------------------------------------------------------------
# Consumer-group offsets: nothing left unprocessed, nothing skipped
# --------------------------------------------------------------------------------------------------


async def offsets_behind(settings: Settings, group_id: str = "newsflow") -> list[str]:
    """Every stage input partition whose committed offset (of the workers' group) is not at its end.

    A partition is fine when the committed offset equals the end offset, or when nothing but transaction
    markers lies between them (exactly-once: a commit marker takes an offset after the last record, and the
    offset committed in the transaction points at it). Anything else is named: "news.raw/2 committed 10 end 14
    (4 records after it)"; a committed offset past the end would mean records were skipped.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from pipeline.kafka.admin import admin_client, partition_ids

    inputs = sorted({src for src, _ in topics.STAGE_TOPICS.values()})
    tps = [TopicPartition(t, p) for t in inputs for p in await partition_ids(settings, t)]
    admin = admin_client(settings)
    await admin.start()
    try:
        committed = {tp: om.offset for tp, om in (await admin.list_consumer_group_offsets(group_id)).items()}
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs(), group_id=None, enable_auto_commit=False,
                                isolation_level="read_committed")
    await consumer.start()
    problems: list[str] = []
    try:
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            end, at = ends[tp], committed.get(tp, -1)
            if end == 0 and at in (-1, 0):
                continue  # nothing ever written there
            if at == end:
                continue
            if at > end:
                problems.append(f"{tp.topic}/{tp.partition} committed {at} past its end {end}")
                continue
            consumer.assign([tp])
            consumer.seek(tp, max(at, 0))
            left = 0
            while True:
                got = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
                left += len(got)
                if not got or got[-1].offset >= end - 1:
                    break
            if left:
                problems.append(f"{tp.topic}/{tp.partition} committed {at} end {end} ({left} records after it)")
    finally:
        await consumer.stop()
    return problems


async def wait_offsets_caught_up(settings: Settings, group_id: str = "newsflow", timeout: float = 30.0) -> list[str]:
    """``offsets_behind`` until it is empty (workers commit every few seconds) or ``timeout``; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        behind = await offsets_behind(settings, group_id)
        if not behind or time.monotonic() > deadline:
            return behind
        await asyncio.sleep(1.0)
