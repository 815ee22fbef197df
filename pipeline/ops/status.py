"""``newsflow status``: each stage's consumer groups, members, lag per partition, throughput over the last
minute and the dead letters, read from the broker alone (any Kafka; no worker web endpoint needed).

- groups: every consumer group with committed offsets on a newsflow topic (the workers' app ids, the sinks'
  groups), with its state and members (client id, host, the partitions assigned to each);
- lag per partition: the partition's end offset minus the group's committed offset (what is still to do;
  under ``exactly_once`` an idle partition can show 1, the transaction marker);
- throughput: records written to each stage's output topic in the last minute, from
  ``offsets_for_times(now - 60 s)`` (the first offset at or after that time) and the end offsets;
- dead letters: how many are on ``news.dlq``, how many in the last minute, and by stage and reason over the
  last ``DLQ_SAMPLE`` records of each partition.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from pipeline import topics
from pipeline.kafka.admin import admin_client
from pipeline.kafka.clients import max_message_bytes, start_with_retry
from pipeline.kafka.wire import decode
from pipeline.settings import Settings
from schemas import DeadLetter

#: dead letters read per partition to break the count down by stage and reason
DLQ_SAMPLE = 500
WINDOW_S = 60.0


def group_consumer(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(**settings.kafka_client_kwargs(), group_id=None, enable_auto_commit=False,
                            auto_offset_reset="earliest", max_partition_fetch_bytes=max_message_bytes(settings),
                            fetch_max_bytes=max_message_bytes(settings) * 4)


def _assignment(raw: bytes) -> list[tuple[str, list[int]]]:
    """A member's assignment (Kafka's consumer protocol); [] where it cannot be read."""
    from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

    try:
        a = ConsumerProtocolMemberAssignment.decode(raw)
        return [(t, sorted(ps)) for t, ps in a.assignment]
    except Exception:  # noqa: BLE001 - another protocol (not a consumer group)
        return []


async def topic_partitions_of(admin, names: list[str]) -> list[TopicPartition]:
    """Every partition of the topics ``names`` (which exist), from the cluster's metadata."""
    if not names:
        return []
    out = []
    for t in await admin.describe_topics(names):
        out += [TopicPartition(t["topic"], p["partition"]) for p in t.get("partitions") or ()]
    return sorted(out, key=lambda tp: (tp.topic, tp.partition))


@dataclass
class Offsets:
    begin: dict[TopicPartition, int]
    end: dict[TopicPartition, int]
    minute_ago: dict[TopicPartition, int]

    def count(self, topic: str) -> int:
        return sum(e - self.begin.get(tp, 0) for tp, e in self.end.items() if tp.topic == topic)

    def last_minute(self, topic: str) -> int:
        return sum(e - self.minute_ago.get(tp, e) for tp, e in self.end.items() if tp.topic == topic)


async def _offsets(consumer: AIOKafkaConsumer, tps: list[TopicPartition], now_ms: int) -> Offsets:
    begin = await consumer.beginning_offsets(tps)
    end = await consumer.end_offsets(tps)
    at = await consumer.offsets_for_times({tp: now_ms - int(WINDOW_S * 1000) for tp in tps})
    minute_ago = {tp: (o.offset if o is not None else end[tp]) for tp, o in at.items()}
    return Offsets(begin, end, minute_ago)


async def _dlq_breakdown(consumer: AIOKafkaConsumer, off: Offsets) -> Counter:
    from pipeline.worker.metrics import reason_label

    tps = [tp for tp in off.end if tp.topic == topics.DLQ and off.end[tp] > off.begin.get(tp, 0)]
    counts: Counter = Counter()
    if not tps:
        return counts
    consumer.assign(tps)
    todo = {}
    for tp in tps:
        start = max(off.begin.get(tp, 0), off.end[tp] - DLQ_SAMPLE)
        consumer.seek(tp, start)
        todo[tp] = off.end[tp]
    deadline = time.monotonic() + 15
    while todo and time.monotonic() < deadline:
        batch = await consumer.getmany(*todo, timeout_ms=500)
        for tp, msgs in batch.items():
            for m in msgs:
                if m.offset >= todo.get(tp, 0):
                    continue
                try:
                    dl = decode(m.value, DeadLetter)
                    counts[(dl.stage, reason_label(dl.reason))] += 1
                except ValueError:
                    counts[("?", "not a dead letter record")] += 1
            if msgs and msgs[-1].offset + 1 >= todo.get(tp, 0):
                todo.pop(tp, None)
        for tp in list(todo):
            if await consumer.position(tp) >= todo[tp]:
                todo.pop(tp)
    consumer.unsubscribe()
    return counts


async def cluster_status(settings: Settings, group_ids: list[str] | None = None) -> dict[str, Any]:
    """The status as one JSON-ready dict (``newsflow status --json`` prints it)."""
    now_ms = int(time.time() * 1000)
    admin = admin_client(settings)
    consumer = group_consumer(settings)
    await start_with_retry(admin.start, settings)
    try:
        await start_with_retry(consumer.start, settings)
        existing = set(await admin.list_topics())
        ours = [t for t in topics.ALL_TOPICS if t in existing]
        tps = await topic_partitions_of(admin, ours)
        off = await _offsets(consumer, tps, now_ms) if tps else Offsets({}, {}, {})

        if group_ids is None:
            listed = await admin.list_consumer_groups()
            group_ids = sorted({g[0] for g in listed})
        committed: dict[str, dict[TopicPartition, int]] = {}
        for g in group_ids:
            try:
                offs = await admin.list_consumer_group_offsets(g)
            except Exception:  # noqa: BLE001 - a group the broker will not describe to us
                continue
            mine = {tp: o.offset for tp, o in offs.items() if tp.topic in ours and o.offset >= 0}
            if mine:
                committed[g] = mine
        described = await admin.describe_consumer_groups(list(committed)) if committed else []
        groups: dict[str, dict[str, Any]] = {}
        for resp in described:
            for g in resp.groups:
                # (error_code, group_id, state, protocol_type, protocol, members, [authorized_operations])
                gid, state, members = g[1], g[2], g[5]
                groups[gid] = {"group": gid, "state": state, "members": [
                    {"client_id": m[1], "host": m[2], "assigned": {t: ps for t, ps in _assignment(m[4])}}
                    for m in members]}
        for gid in committed:
            groups.setdefault(gid, {"group": gid, "state": "Unknown", "members": []})

        stages = []
        for stage, (src, dst) in topics.STAGE_TOPICS.items():
            entry: dict[str, Any] = {"stage": stage, "input": src, "output": dst,
                                     "out_last_minute": off.last_minute(dst) if dst in ours else 0,
                                     "in_last_minute": off.last_minute(src) if src in ours else 0,
                                     "groups": []}
            for gid, offs in committed.items():
                parts = []
                for tp in sorted((tp for tp in off.end if tp.topic == src), key=lambda t: t.partition):
                    c = offs.get(tp)
                    end = off.end[tp]
                    parts.append({"partition": tp.partition, "end": end, "committed": c,
                                  "lag": end - (c if c is not None else off.begin.get(tp, 0))})
                members = [m for m in groups[gid]["members"] if src in m["assigned"]]
                if not members and not any(p["committed"] is not None for p in parts):
                    continue  # this group does not run this stage
                entry["groups"].append({"group": gid, "state": groups[gid]["state"], "members": len(members),
                                        "member_clients": [m["client_id"] for m in members],
                                        "lag": sum(p["lag"] for p in parts), "partitions": parts})
            stages.append(entry)

        by = await _dlq_breakdown(consumer, off) if topics.DLQ in ours else Counter()
        dlq = {"total": off.count(topics.DLQ) if topics.DLQ in ours else 0,
               "last_minute": off.last_minute(topics.DLQ) if topics.DLQ in ours else 0,
               "sampled": sum(by.values()),
               "by_stage_reason": [{"stage": s, "reason": r, "count": n} for (s, r), n in by.most_common()]}
        terminal = {t: {"total": off.count(t), "last_minute": off.last_minute(t)} for t in topics.ALL_TOPICS if t in ours}
        return {"broker": settings.broker, "time": now_ms / 1000, "window_s": WINDOW_S, "stages": stages,
                "groups": list(groups.values()), "topics": terminal, "dead_letters": dlq,
                "missing_topics": [t for t in topics.ALL_TOPICS if t not in existing]}
    finally:
        await consumer.stop()
        await admin.close()


def render(status: dict[str, Any]):
    """The status as rich renderables (a table of stages, one of dead letters)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"newsflow on {status['broker']}", title_justify="left", expand=False)
    for col, just in (("stage", "left"), ("input", "left"), ("group", "left"), ("members", "right"),
                      ("lag", "right"), ("lag per partition", "left"), ("out/min", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for s in status["stages"]:
        if not s["groups"]:
            t.add_row(s["stage"], s["input"], Text("no group", style="yellow"), "0", "-", "",
                      str(s["out_last_minute"]))
        for i, g in enumerate(s["groups"]):
            per = " ".join(f"{p['partition']}:{p['lag']}" for p in g["partitions"])
            lag_style = "green" if g["lag"] == 0 else ("yellow" if g["lag"] < 1000 else "red")
            t.add_row(s["stage"] if i == 0 else "", s["input"] if i == 0 else "", g["group"],
                      Text(str(g["members"]), style="red" if g["members"] == 0 else ""),
                      Text(str(g["lag"]), style=lag_style), per, str(s["out_last_minute"]) if i == 0 else "")
    d = status["dead_letters"]
    dl = Table(title=f"dead letters: {d['total']} on {topics.DLQ}, {d['last_minute']} in the last minute",
               title_justify="left")
    dl.add_column("stage")
    dl.add_column("reason")
    dl.add_column("count", justify="right")
    for row in d["by_stage_reason"]:
        dl.add_row(row["stage"], row["reason"], str(row["count"]))
    parts: list = [t]
    out = status["topics"]
    parts.append(Text("  ".join(f"{name}: {v['total']} ({v['last_minute']}/min)" for name, v in out.items()
                                if name in topics.TERMINAL), style="dim"))
    parts.append(dl)
    if status["missing_topics"]:
        parts.append(Text("missing topics: " + ", ".join(status["missing_topics"]) + " (run `newsflow topics`)",
                          style="yellow"))
    return Group(*parts)


async def watch(settings: Settings, every_s: float, show, times: int | None = None) -> None:
    n = 0
    while times is None or n < times:
        show(await cluster_status(settings))
        n += 1
        if times is None or n < times:
            await asyncio.sleep(every_s)
