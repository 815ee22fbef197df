"""The Faust fixes of pipeline/faust_fixes on a real Faust consumer of the worker's transport (nothing is
started: acknowledging and choosing the offset to commit are bookkeeping, no broker is involved), the
signatures of the Faust methods they override, and the version check."""

from __future__ import annotations

import faust
import pytest
from faust.types.tuples import TP, Message

from pipeline import faust_fixes
from pipeline.errors import ConfigError
from pipeline.faust_fixes.recovery_hold import HoldingRecovery, stop_flow_and_wait

TOPIC = "news.normalized"
PART = TP(TOPIC, 0)


@pytest.fixture
def consumer():
    app = faust.App("test-ack-guard", **faust_fixes.app_options(["127.0.0.1:1"]))
    c = app.consumer  # created, not started
    app.topics._acking_topics = {TOPIC}  # what the conductor fills in when an agent subscribes to the topic
    app.consumer_generation_id = 3
    return c


def message(offset: int, generation: int) -> Message:
    return Message(TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None, tp=PART, generation_id=generation)


def test_ack_of_a_record_fetched_before_the_rebalance_does_not_count(consumer):
    stale = message(40, generation=2)
    assert consumer.ack(stale) is False
    assert stale.acked  # done with: nothing waits for it
    assert not consumer._acked.get(PART)  # but its offset cannot be committed


def test_ack_while_the_flow_is_stopped_for_a_rebalance_does_not_count(consumer):
    consumer.stop_flow()
    assert consumer.ack(message(40, generation=3)) is False
    consumer.resume_flow()
    assert consumer.ack(message(40, generation=3)) is True
    assert consumer._acked[PART] == [40]


def test_after_the_seek_the_commit_waits_for_the_records_that_come_again(consumer):
    # The lost-articles case: records 38-41 were fetched before the rebalance; 38 and 39 were dropped from
    # the queue, 40 and 41 were still in the tag agent's batch and finish after it. The seek puts the
    # committed offset back (38) and the records come again in the new generation.
    assert consumer._committed_offset[PART] is None  # forgotten at the revocation
    for off in (40, 41):
        consumer.ack(message(off, generation=2))  # the batch from before the rebalance
    assert consumer._new_offset(PART) is None  # unguarded, Faust counted 40 and 41 and committed 42 here
    consumer._committed_offset[PART] = 38  # Consumer.perform_seek
    for off in (38, 39, 40, 41):
        consumer.ack(message(off, generation=3))
    assert consumer._new_offset(PART) == 42


def test_the_worker_gets_the_fixed_classes_and_faust_itself_is_left_alone(consumer):
    from faust.tables.recovery import Recovery
    from faust.transport.consumer import Consumer
    from faust.transport.drivers import aiokafka as faust_aiokafka

    from pipeline.faust_fixes import transport

    assert type(consumer) is transport.Consumer
    assert isinstance(consumer.app.tables.recovery, HoldingRecovery)
    plain = faust.App("test-plain-faust", broker="kafka://127.0.0.1:1")  # another app in the same process
    assert type(plain.consumer) is faust_aiokafka.Consumer and type(plain.tables.recovery) is Recovery
    # nothing was replaced on Faust's classes
    assert Consumer.ack.__module__ == "faust.transport.consumer"
    assert Recovery.on_recovery_completed.__module__ == "faust.tables.recovery"


def test_an_untested_faust_version_is_refused_in_one_line():
    faust_fixes.check_version(faust_fixes.TESTED_FAUST_VERSIONS[0])
    with pytest.raises(ConfigError, match=r"faust-streaming 9\.9\.9 is installed.*tested with") as e:
        faust_fixes.check_version("9.9.9")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("cls, method, params", [
    ("faust.transport.consumer:Consumer", "ack", ["self", "message"]),
    ("faust.transport.consumer:Consumer", "getmany", ["self", "timeout"]),
    ("faust.transport.drivers.aiokafka:AIOKafkaConsumerThread", "_create_worker_consumer", ["self", "transport"]),
    ("faust.transport.drivers.aiokafka:Consumer", "_new_consumer_thread", ["self"]),
    ("faust.tables.recovery:Recovery", "on_recovery_completed", ["self", "generation_id"]),
    ("faust.tables.manager:TableManager", "recovery", None),
    ("faust.transport.consumer:Consumer", "commit", ["self", "topics", "start_new_transaction"]),
    ("faust.transport.consumer:Consumer", "seek", ["self", "partition", "offset"]),
    ("faust.transport.consumer:Consumer", "perform_seek", ["self"]),
    ("faust.transport.consumer:Consumer", "_new_offset", ["self", "tp"]),
])
def test_the_faust_methods_the_fixes_override_have_the_signature_they_were_written_for(cls, method, params):
    import importlib
    import inspect

    module, name = cls.split(":")
    attr = inspect.getattr_static(getattr(importlib.import_module(module), name), method)
    if params is None:
        assert isinstance(attr, property)
        return
    assert list(inspect.signature(attr).parameters) == params


# hold_flow_while_recovery_seeks: the fetch loop must be idle before Faust seeks the stream partitions

def record(offset: int):
    from aiokafka.structs import ConsumerRecord

    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", b"v", None, 1, 1, [])


@pytest.fixture
def fetching_consumer(consumer, monkeypatch):
    """The consumer, with one fetch that returns records 10-14 of news.normalized/0 (what aiokafka would)."""
    async def one_fetch(timeout):
        return {PART: [record(o) for o in range(10, 15)]}, {PART}

    monkeypatch.setattr(consumer, "_wait_next_records", one_fetch)
    monkeypatch.setattr(consumer, "highwater", lambda tp: 15)  # asks the (not started) aiokafka consumer
    consumer.resume_flow()
    return consumer


def drain_slowly(consumer, delivered: list):
    """Faust's fetch loop, in a task: each record handed on takes 50 ms (an agent's queue filling up)."""
    import asyncio

    async def drain():
        async for tp, message in consumer.getmany(timeout=0):
            delivered.append(message.offset)
            await asyncio.sleep(0.05)

    return asyncio.create_task(drain())


async def test_a_consumer_is_delivering_from_the_first_record_of_a_batch_to_its_end(fetching_consumer):
    c = fetching_consumer
    seen = []
    assert not getattr(c, "_newsflow_delivering", False)
    async for tp, message in c.getmany(timeout=0):
        seen.append((message.offset, c._newsflow_delivering))
    assert seen == [(o, True) for o in range(10, 15)]
    assert c._newsflow_delivering is False


async def test_stopping_the_flow_ends_the_batch_being_delivered(fetching_consumer):
    import asyncio

    c = fetching_consumer
    delivered = []
    task = drain_slowly(c, delivered)
    while not delivered:
        await asyncio.sleep(0.001)
    assert await stop_flow_and_wait(c, timeout_s=5)
    assert not c.flow_active and c._newsflow_delivering is False
    assert delivered == [10]  # nothing more is handed out once the flow is stopped
    await task


async def test_recovery_seeks_only_once_the_fetch_loop_is_idle(fetching_consumer, monkeypatch):
    import asyncio

    from faust.tables.recovery import Recovery

    c = fetching_consumer
    at_seek = {}

    async def faust_on_recovery_completed(self, generation_id=0):  # resumes partitions, seeks, resumes the flow
        at_seek.update(flow_active=c.flow_active, delivering=c._newsflow_delivering, generation=generation_id)

    monkeypatch.setattr(Recovery, "on_recovery_completed", faust_on_recovery_completed)

    task = drain_slowly(c, [])
    while not getattr(c, "_newsflow_delivering", False):
        await asyncio.sleep(0.001)
    await c.app.tables.recovery.on_recovery_completed(3)
    assert at_seek == {"flow_active": False, "delivering": False, "generation": 3}
    await task


async def test_a_commit_waits_until_every_record_an_agent_started_on_is_acknowledged():
    """Exactly-once (pipeline/faust_fixes/transactions.py): a commit between records, never mid-batch."""
    import asyncio

    from pipeline.faust_fixes.transactions import CommitBarrier

    barrier = CommitBarrier(drain_timeout_s=5)
    batch = [message(o, 3) for o in (10, 11)]
    await barrier.enter(batch)
    order: list[str] = []

    async def commit():
        async with barrier.commit_between_records() as drained:
            order.append(f"commit drained={drained}")

    task = asyncio.create_task(commit())
    await asyncio.sleep(0.05)
    assert order == [] and barrier.in_flight == 2
    later = asyncio.create_task(barrier.enter([message(12, 3)]))  # new input waits for the commit
    await asyncio.sleep(0.05)
    assert not later.done()
    for m in batch:
        m.acked = True
        order.append(f"ack {m.offset}")
    await task
    await later
    assert order == ["ack 10", "ack 11", "commit drained=True"] and barrier.in_flight == 1


def test_a_hole_of_markers_after_the_committed_offset_does_not_stop_commits(consumer):
    """After a seek, offsets before the first record fetched hold only transaction markers or aborted records
    (read_committed never delivers them): the commit moves past them instead of stopping for good."""
    consumer._committed_offset[PART] = 10
    consumer._first_fetched()[PART] = 14  # 10..13: markers and the dead worker's aborted records
    consumer.in_transaction = True
    for o in (14, 15):
        consumer._acked[PART].append(o)
        consumer._acked_index[PART].add(o)
    assert consumer._new_offset(PART) == 16


def test_a_hole_after_the_first_fetched_record_still_stops_the_commit(consumer):
    consumer._committed_offset[PART] = 10
    consumer._first_fetched()[PART] = 11
    consumer.in_transaction = True
    for o in (11, 14):  # 12, 13: fetched but not acknowledged yet
        consumer._acked[PART].append(o)
        consumer._acked_index[PART].add(o)
    assert consumer._new_offset(PART) == 12
