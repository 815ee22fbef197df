"""The acknowledgement guard of pipeline/faust_patches.py on a real Faust consumer (nothing is started:
acknowledging and choosing the offset to commit are bookkeeping, no broker is involved)."""

from __future__ import annotations

import faust
import pytest
from faust.types.tuples import TP, Message

from pipeline import faust_patches

TOPIC = "news.normalized"
PART = TP(TOPIC, 0)


@pytest.fixture
def consumer():
    faust_patches.guard_acks_across_rebalances()
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

    faust_patches.guard_acks_across_rebalances()
    ack = Consumer.ack
    faust_patches.guard_acks_across_rebalances()
    assert Consumer.ack is ack
