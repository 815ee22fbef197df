"""Broker failures on a 3-node Apache Kafka while thousands of articles stream through (issue 17).

Topics have 3 replicas and ``min.insync.replicas=2``; every producer writes with ``acks=all``. The faults hit
the broker that leads ``news.parsed`` (the one partition every article crosses: dedup is a single writer), so
each one moves the leadership of the busiest partition, and of whatever else that broker led:

- kill -9 of that broker, three times, restarted after a few seconds each time;
- that broker stopped cleanly and kept down for 60 s;
- that broker's process paused with SIGSTOP for 30 s (a network partition as the others see it: it holds its
  sockets open and answers nothing), then resumed.

Each test asserts what the worker tests do (tests/chaos/test_kill_rebalance.py, ``check``): every input once in
the sink, the duplicates or the dead letters, and the workers' committed offsets at the end of every stage input.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from pipeline import topics
from pipeline.kafka.admin import admin_client
from pipeline.settings import Settings
from tests.chaos.harness import report
from tests.chaos.test_kill_rebalance import check, run_stream_with

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

DOWN_S = float(os.environ.get("NEWSFLOW_CHAOS_BROKER_DOWN_S", "60"))
PAUSE_S = float(os.environ.get("NEWSFLOW_CHAOS_BROKER_PAUSE_S", "30"))
N_BROKER = int(os.environ.get("NEWSFLOW_CHAOS_BROKER_ARTICLES", "5000"))  # issue 17: 5,000+ through broker faults


def three_nodes(broker) -> None:
    if broker.kind != "kafka" or len(broker.nodes) != 3:
        pytest.skip("broker faults need the 3-node Apache Kafka (NEWSFLOW_TEST_BROKER=kafka)")


async def busiest_leader(broker) -> int:
    """The node that leads news.parsed/0 now (asked of a live node)."""
    live = [n for n in broker.nodes if n.alive()]
    admin = admin_client(Settings(broker=",".join(n.address for n in live)), timeout=15)
    await admin.start()
    try:
        (desc,) = await admin.describe_topics([topics.PARSED])
        return desc["partitions"][0]["leader"]
    finally:
        await admin.close()


class Faults:
    """The broker faults done during one run, and the tasks that undo them (awaited before the checks)."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.undo: list[asyncio.Task] = []

    async def settle(self) -> None:
        await asyncio.gather(*self.undo)

    def kill9_leader(self, restart_after_s: float = 5.0):
        async def kill9_leader(workers, make_worker, broker):
            node = await busiest_leader(broker)
            broker.kill(node)
            self.done.append(f"kill9:{node}")
            await asyncio.sleep(restart_after_s)
            await asyncio.to_thread(broker.start_node, node)
        return kill9_leader

    def stop_leader_for(self, seconds: float):
        async def stop_leader(workers, make_worker, broker):
            node = await busiest_leader(broker)
            await asyncio.to_thread(broker.stop_node, node)
            self.done.append(f"stop{seconds:.0f}s:{node}")

            async def later():
                await asyncio.sleep(seconds)
                await asyncio.to_thread(broker.start_node, node)
            self.undo.append(asyncio.create_task(later()))
        return stop_leader

    def pause_leader_for(self, seconds: float):
        async def pause_leader(workers, make_worker, broker):
            node = await busiest_leader(broker)
            broker.pause(node)
            self.done.append(f"sigstop{seconds:.0f}s:{node}")

            async def later():
                await asyncio.sleep(seconds)
                broker.resume(node)
            self.undo.append(asyncio.create_task(later()))
        return pause_leader


async def test_leader_broker_killed_three_times_nothing_lost(broker, make_worker, pg_table):
    three_nodes(broker)
    faults = Faults()
    run = await run_stream_with(
        broker, make_worker, pg_table, "broker-kill9", n_good=N_BROKER, rate=250,
        events={0.15: faults.kill9_leader(), 0.40: faults.kill9_leader(), 0.65: faults.kill9_leader()})
    await faults.settle()
    report("broker-kill9-faults", faults=",".join(faults.done))
    check(run, "broker kill")
    assert all(run.alive), run.workers[0].log()[-3000:]
    assert len(faults.done) == 3


async def test_leader_broker_down_for_a_minute_nothing_lost(broker, make_worker, pg_table):
    three_nodes(broker)
    faults = Faults()
    # the stream has to outlast the outage: a slower rate keeps input coming while the broker is down
    run = await run_stream_with(
        broker, make_worker, pg_table, "broker-down", n_good=N_BROKER, rate=60,
        events={0.02: faults.stop_leader_for(DOWN_S)})
    await faults.settle()
    report("broker-down-faults", faults=",".join(faults.done), down_s=DOWN_S)
    check(run, "broker stop")
    assert all(run.alive), run.workers[0].log()[-3000:]
    assert all(n.alive() for n in broker.nodes)


async def test_leader_broker_paused_half_a_minute_nothing_lost(broker, make_worker, pg_table):
    three_nodes(broker)
    faults = Faults()
    run = await run_stream_with(
        broker, make_worker, pg_table, "broker-sigstop", n_good=N_BROKER // 2, rate=40,
        events={0.02: faults.pause_leader_for(PAUSE_S)})
    await faults.settle()
    report("broker-sigstop-faults", faults=",".join(faults.done), paused_s=PAUSE_S)
    check(run, "broker pause")
    assert all(run.alive), run.workers[0].log()[-3000:]
