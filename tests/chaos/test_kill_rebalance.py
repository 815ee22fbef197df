"""kill -9 and rebalances while thousands of articles stream through: nothing lost, no duplicate row.

Modelled on Kafka's own system tests (kill a process mid-stream, bounce it, then check the consumed set
against the produced set). Real broker (the test broker: Apache Kafka or Tansu), real ``newsflow worker`` processes, the ground truth is
a PostgreSQL table upserted by article id (``ground_truth.sink_rows``).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import time
from dataclasses import dataclass

import pytest

from pipeline.kafka.admin import ensure_topics
from schemas import RawArticle
from tests.chaos.ground_truth import Accounting, TerminalReader, account, sink_rows, wait_for, wait_offsets_caught_up
from tests.chaos.harness import articles, publish_paced, report
from tests.conftest import settings_for

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

N_KILL = int(os.environ.get("NEWSFLOW_CHAOS_ARTICLES", "3000"))  # the broker faults keep 5,000
N_REBALANCE = int(os.environ.get("NEWSFLOW_CHAOS_REBALANCE_ARTICLES", "1500"))
TIMEOUT = float(os.environ.get("NEWSFLOW_CHAOS_TIMEOUT_S", "600"))
ASSIGNED = "Setting newly assigned partitions"  # aiokafka, once a member holds its assignment
ASSIGNED_FAUST = "Executing _on_partitions_assigned"  # Faust, as it starts taking the new assignment over
WORKER_ENV = {"NEWSFLOW_TOPIC_CHECK_INTERVAL_S": "2", "NEWSFLOW_LOG_LEVEL": "INFO"}


def stream_inputs(prefix: str, n_good: int) -> list[RawArticle]:
    """n_good short articles, 2% exact copies under other origins, 2% unreadable inputs, shuffled."""
    rng = random.Random(len(prefix))
    good = articles(prefix, n_good)
    copies = [RawArticle.from_bytes(g.payload_bytes(), f"{prefix}/copy-{i}.txt") for i, g in
              enumerate(rng.sample(good, n_good // 50))]
    bad = [RawArticle.from_bytes(bytes([0xff, 0xfe]) + rng.randbytes(40), f"{prefix}/bad-{i}.bin")
           for i in range(n_good // 50)]
    inputs = good + copies + bad
    rng.shuffle(inputs)
    return inputs


@dataclass
class StreamRun:
    acc: Accounting
    workers: list
    alive: list[bool]
    pending: list
    reader: TerminalReader
    behind: list[str]  # stage input partitions whose committed offset is not at the end (should be none)
    elapsed_s: float


async def run_stream_with(broker, make_worker, pg_table, name: str, n_good: int, rate: float, events,
                          timeout: float = TIMEOUT, worker_env: dict | None = None,
                          isolation_level: str = "read_uncommitted",
                          inputs: list[RawArticle] | None = None) -> StreamRun:
    """Stream the inputs at ``rate``/s; call ``events[k](workers, make_worker)`` as the output passes each
    fraction k (an event may also take ``broker`` as a third argument). After the stream, the workers' group
    offsets are checked against the end of every stage's input."""
    settings = settings_for(broker, partitions=4)
    await ensure_topics(settings)
    env = {**WORKER_ENV, **(worker_env or {})}
    workers = [make_worker("newsflow", partitions=4, extra_env=env).start()]
    inputs = inputs if inputs is not None else stream_inputs(name, n_good)
    origins = {r.origin for r in inputs}
    reader = await TerminalReader(settings, isolation_level=isolation_level).start()
    t0 = time.monotonic()
    pub = asyncio.create_task(publish_paced(settings, inputs, per_second=rate))
    pending = sorted(events.items())
    log: list[str] = []
    try:
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            await reader.poll()
            done = len(reader.origins & origins) / len(origins)
            while pending and done >= pending[0][0]:
                frac, action = pending.pop(0)
                log.append(f"{time.monotonic() - t0:.1f}s@{done:.0%}:{action.__name__}")
                if "broker" in inspect.signature(action).parameters:
                    await action(workers, make_worker, broker)
                else:
                    await action(workers, make_worker)
            if not pending and origins <= reader.origins:
                await reader.until(origins, timeout=5, settle=5.0)
                break
        await pub
        elapsed = time.monotonic() - t0
        rows = sink_rows(pg_table, reader.records["news.enriched"])
        acc = account([r.origin for r in inputs], rows, reader)
        behind = await wait_offsets_caught_up(settings) if broker.kind == "kafka" else []
    finally:
        pub.cancel()
        await reader.stop()
    alive = [w.alive() for w in workers]
    report(name, elapsed_s=f"{elapsed:.1f}", events=",".join(log), **{"records": reader.counts()},
           summary=acc.summary(), offsets_behind=len(behind))
    return StreamRun(acc, workers, alive, pending, reader, behind, elapsed)


async def kill9(workers, make_worker):
    w = workers[0]
    w.stop(kill=True)
    assert not w.alive()
    await asyncio.sleep(0.5)
    w.start()


async def add_worker(workers, make_worker):
    workers.append(make_worker("newsflow", partitions=4, extra_env=WORKER_ENV).start())


async def wait_for_log(worker, text: str, times: int = 1, timeout: float = 60.0) -> bool:
    return await wait_for(lambda: worker.log().count(text) >= times, timeout, every=0.05)


async def remove_worker(workers, make_worker):
    # a leave after a completed join: wait (bounded) until the second worker holds partitions
    await wait_for_log(workers[-1], ASSIGNED)
    workers[-1].stop()  # SIGTERM: a clean leave, the group rebalances


async def join_then_leave_during_the_rebalance(workers, make_worker):
    """Two rebalances about three seconds apart: a second worker joins, and leaves 2 s after the first
    worker was handed its new partitions, while that one still finishes the batch it held before. In
    this window Faust committed past records it had dropped from its queues (pipeline/faust_fixes/__init__.py)."""
    first = workers[0]
    seen = first.log().count(ASSIGNED_FAUST)
    await add_worker(workers, make_worker)
    await wait_for_log(first, ASSIGNED_FAUST, times=seen + 1)
    await asyncio.sleep(2.0)
    workers[-1].stop()


def check(run: StreamRun, what: str, offsets: bool = True) -> None:
    """The invariant every fault test asserts: each input once downstream, nothing left behind (``offsets``:
    the committed offsets at the end of every stage input too)."""
    acc = run.acc
    assert not run.pending, f"the stream stalled before every {what} happened: {acc.summary()}"
    assert acc.ok, acc.summary() + "\n" + run.workers[0].log()[-3000:]
    assert acc.sink_rows + acc.duplicates + acc.dead_letters == acc.inputs
    assert not offsets or not run.behind, "committed offsets are not at the end of the stage inputs: " + "; ".join(run.behind)


#: redelivered records per mode, for the side-by-side report of the exactly-once test
REDELIVERIES: dict[str, dict[str, int]] = {}


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
async def test_kill9_three_times_nothing_lost_no_duplicate_rows(broker, make_worker, pg_table, guarantee):
    eos = guarantee == "exactly_once"
    if eos and broker.kind != "kafka":
        pytest.skip("exactly-once needs Apache Kafka's transactions")
    run = await run_stream_with(
        broker, make_worker, pg_table, f"kill9-{guarantee}", n_good=N_KILL, rate=250,
        events={0.15: kill9, 0.40: kill9, 0.65: kill9},
        worker_env={"NEWSFLOW_PROCESSING_GUARANTEE": guarantee},
        isolation_level="read_committed" if eos else "read_uncommitted")
    # exactly-once: the offsets check is one of the known gaps below (the stories stage's input,
    # news.unclustered/0, stayed hundreds of records behind in CI and here; those records are processed again)
    check(run, "kill", offsets=not eos)
    assert all(run.alive)
    REDELIVERIES[guarantee] = run.acc.redeliveries
    if eos:
        report("redeliveries-by-mode", **{m: sum(r.values()) for m, r in REDELIVERIES.items()},
               detail=REDELIVERIES, exactly_once_offsets_behind=";".join(run.behind) or "none")
        gaps = []
        if run.behind:
            gaps.append(f"a stage input's committed offset stayed behind: {run.behind}")
        # on the topics themselves, before any upsert, committed transactions should hold each article once
        if any(run.acc.redeliveries.values()):
            gaps.append("outputs of the enrich and stories stages are committed twice (counted per topic under "
                        "read_committed, the stages before them commit each record once; cause not found yet): "
                        f"{run.acc.redeliveries}")
        if gaps:
            pytest.xfail("known gaps (issue 17, README 'Exactly-once') after a worker kill -9: " + "; ".join(gaps))


async def test_second_worker_joins_and_leaves_nothing_lost(broker, make_worker, pg_table):
    run = await run_stream_with(
        broker, make_worker, pg_table, "rebalance", n_good=N_REBALANCE, rate=250,
        events={0.10: add_worker, 0.55: remove_worker})
    check(run, "rebalance")
    assert run.alive[0] and len(run.workers) == 2
    assert ASSIGNED in run.workers[1].log(), "the second worker never got partitions"


async def test_second_worker_leaves_while_the_first_is_rebalancing_nothing_lost(broker, make_worker, pg_table):
    run = await run_stream_with(
        broker, make_worker, pg_table, "leave-mid-rebalance", n_good=N_REBALANCE, rate=100,
        events={0.30: join_then_leave_during_the_rebalance})
    check(run, "rebalance")
    assert run.alive[0] and len(run.workers) == 2
