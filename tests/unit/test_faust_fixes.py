"""The acknowledgement guard and the recovery hold of pipeline/faust_fixes/__init__.py on a real Faust consumer (nothing is started:
acknowledging and choosing the offset to commit are bookkeeping, no broker is involved)."""

from __future__ import annotations

import faust
import pytest
from faust.types.tuples import TP, Message

from pipeline import faust_fixes

TOPIC = "news.normalized"
PART = TP(TOPIC, 0)


@pytest.fixture
def consumer():
    faust_fixes.guard_acks_across_rebalances()
    app = faust.App("test-ack-guard", broker="kafka://127.0.0.1:1")
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


def test_installing_twice_wraps_once():
    from faust.transport.consumer import Consumer

    faust_fixes.guard_acks_across_rebalances()
    ack = Consumer.ack
    faust_fixes.guard_acks_across_rebalances()
    assert Consumer.ack is ack


# hold_flow_while_recovery_seeks: the fetch loop must be idle before Faust seeks the stream partitions

def record(offset: int):
    from aiokafka.structs import ConsumerRecord

    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", b"v", None, 1, 1, [])


@pytest.fixture
def fetching_consumer(consumer, monkeypatch):
    """The consumer, with one fetch that returns records 10-14 of news.normalized/0 (what aiokafka would)."""
    faust_fixes.hold_flow_while_recovery_seeks()

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
    assert await faust_fixes.stop_flow_and_wait(c, timeout_s=5)
    assert not c.flow_active and c._newsflow_delivering is False
    assert delivered == [10]  # nothing more is handed out once the flow is stopped
    await task


async def test_recovery_seeks_only_once_the_fetch_loop_is_idle(fetching_consumer, monkeypatch):
    import asyncio
    from types import SimpleNamespace

    from faust.tables.recovery import Recovery

    c = fetching_consumer
    at_seek = {}

    async def faust_on_recovery_completed(self, generation_id=0):  # resumes partitions, seeks, resumes the flow
        at_seek.update(flow_active=c.flow_active, delivering=c._newsflow_delivering, generation=generation_id)

    monkeypatch.setattr(Recovery, "_newsflow_original_on_recovery_completed", faust_on_recovery_completed)

    task = drain_slowly(c, [])
    while not getattr(c, "_newsflow_delivering", False):
        await asyncio.sleep(0.001)
    await Recovery.on_recovery_completed(SimpleNamespace(app=c.app), 3)
    assert at_seek == {"flow_active": False, "delivering": False, "generation": 3}
    await task


def test_installing_the_recovery_hold_twice_wraps_once():
    from faust.tables.recovery import Recovery
    from faust.transport.consumer import Consumer

    faust_fixes.hold_flow_while_recovery_seeks()
    held, getmany = Recovery.on_recovery_completed, Consumer.getmany
    faust_fixes.hold_flow_while_recovery_seeks()
    assert (Recovery.on_recovery_completed, Consumer.getmany) == (held, getmany)
