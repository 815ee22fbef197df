"""Issue #5: a worker stays in its consumer group while the tag stage works through a sustained load.

The tagger is CPU-heavy; if it ran on the event loop, heartbeats would stop and the broker would
throw the worker out of its group (session timeout 6 s in tests). The worker here tags some 27,000
tokens in a row (several seconds even on an idle core); its group membership must not change: one join, no failed heartbeat, no rebalance,
and the broker still lists the same member at the end.
"""

import asyncio
import re
import time

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from pipeline import topics
from pipeline.kafka.clients import make_producer
from pipeline.kafka.admin import ensure_topics
from pipeline.stages.normalize import normalize
from pipeline.stages.parse import parse
from pipeline.kafka.wire import encode
from schemas import Article, RawArticle
from tests.conftest import collect, settings_for

pytestmark = pytest.mark.integration

N_ARTICLES = 60
TROUBLE = re.compile(r"heartbeat failed|session expired|rebalanc|revoking|leave ?group|left group|"
                     r"unknownmemberid|illegalgeneration|member .* was removed", re.I)


async def group_members(settings, group: str) -> list[str]:
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group])
        # DescribeGroups: groups = [(error, group_id, state, protocol_type, protocol, members)], member_id first
        return sorted(m[0] for r in responses for g in r.groups if g[1] == group for m in g[5])
    finally:
        await admin.close()


async def test_worker_stays_in_group_under_sustained_tagging(broker, make_worker, seed_bytes):
    settings = settings_for(broker, app_id="tagload")
    await ensure_topics(settings)
    worker = make_worker("tagload", stages="tag").start()
    seed = normalize(parse(RawArticle.from_bytes(seed_bytes, "seed.txt")))

    async def send(arts: list[Article]) -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            for a in arts:
                await producer.send(topics.NORMALIZED, key=a.id.encode(), value=encode(a))
            await producer.flush()
        finally:
            await producer.stop()

    # one probe article first: the worker has joined, loaded its models and started its tag process
    await send([seed.model_copy(update={"id": "probe", "origin": "load/probe.txt"})])
    got = await collect(settings, wanted=1, timeout=150, topic_names=(topics.TAGGED,))
    assert len(got[topics.TAGGED]) == 1, worker.log()[-3000:]
    member = re.search(r"Joined group '[^']+' \(generation (\d+)\) with member_id (\S+)", worker.log())
    assert member, worker.log()[-3000:]
    await asyncio.sleep(3)  # let lines the start-up left pending reach the log
    settled = len(worker.log())

    await send([seed.model_copy(update={"id": f"load{i:04d}", "origin": f"load/{i}.txt"}) for i in range(N_ARTICLES)])
    started = time.monotonic()
    got = await collect(settings, wanted=N_ARTICLES + 1, timeout=150, topic_names=(topics.TAGGED,))
    took = time.monotonic() - started
    log = worker.log()
    tagged = [Article.model_validate(orjson.loads(v)) for v in got[topics.TAGGED]]
    assert len(tagged) == N_ARTICLES + 1, log[-3000:]
    assert all("Donald Trump" in {e.canonical for e in a.entities} for a in tagged)
    print(f"tagged {N_ARTICLES} articles in {took:.1f} s")
    assert worker.alive(), log[-3000:]
    assert log.count("Joined group") == 1, log[-3000:]
    trouble = TROUBLE.search(log[settled:])
    assert not trouble, trouble.group(0) + "\n" + log[-3000:]
    # the event loop stayed responsive: no timer came later than the session timeout
    drifts = [float(d) for d in re.findall(r"woke up too late, with a drift of \+([0-9.]+)", log[settled:])]
    assert max(drifts, default=0.0) < 6.0, drifts
    members = await group_members(settings, "tagload")
    assert members == [member.group(2)], (members, member.group(0))
