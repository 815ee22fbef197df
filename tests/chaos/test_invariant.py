"""The invariant under faults and replays (issue 17): every input ends in exactly one of news.enriched,
news.duplicates and news.dlq, and a replay decides it the same way.

Inputs in a random order (the seed is printed): distinct articles, exact copies under other origins, near copies
(one word changed), unreadable inputs. While they stream, the worker is killed with kill -9 and, on the 3-node
cluster, the leader of news.parsed too. Then all of news.raw is replayed (``newsflow replay``, republished to the
live worker) and every input must come out again with the same decision: the same terminal topic, and for a
duplicate the same original.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections import defaultdict

import pytest

from pipeline import topics
from schemas import RawArticle
from tests.chaos.harness import articles, report
from tests.chaos.test_kill_rebalance import check, kill9, run_stream_with

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

N = int(os.environ.get("NEWSFLOW_CHAOS_INVARIANT_ARTICLES", "1500"))
SEED = int(os.environ.get("NEWSFLOW_CHAOS_SEED", str(int(time.time()) % 100_000)))


def mixed_inputs(rng: random.Random, n: int) -> list[RawArticle]:
    good = articles("inv", n, seed=rng.randrange(1 << 30))
    out = list(good)
    for i, g in enumerate(rng.sample(good, n // 20)):
        out.append(RawArticle.from_bytes(g.payload_bytes(), f"inv/copy-{i}.txt"))
    for i, g in enumerate(rng.sample(good, n // 20)):
        words = g.payload_bytes().decode().split(" ")
        k = rng.randrange(len(words) // 2, len(words) - 1)
        words[k] = "zebra" if words[k] != "zebra" else "yak"
        out.append(RawArticle.from_bytes(" ".join(words).encode(), f"inv/near-{i}.txt"))
    out += [RawArticle.from_bytes(b"\xff\xfe" + rng.randbytes(30), f"inv/bad-{i}.bin") for i in range(n // 50)]
    rng.shuffle(out)
    return out


def decisions(reader) -> dict[str, set[tuple]]:
    """origin -> the distinct decisions seen for it: (topic, duplicate_of or dead-letter stage)."""
    seen: dict[str, set[tuple]] = defaultdict(set)
    for rec in reader.records[topics.ENRICHED]:
        seen[rec["origin"]].add((topics.ENRICHED, None))
    for rec in reader.records[topics.DUPLICATES]:
        seen[rec["origin"]].add((topics.DUPLICATES, rec.get("duplicate_of")))
    for rec in reader.records[topics.DLQ]:
        seen[rec["origin"]].add((topics.DLQ, rec.get("stage")))
    return seen


async def kill9_leader(workers, make_worker, broker):
    if broker.kind != "kafka" or len(getattr(broker, "nodes", [])) < 3:
        return
    from tests.chaos.test_broker_faults import busiest_leader

    node = await busiest_leader(broker)
    broker.kill(node)
    await asyncio.sleep(5)
    await asyncio.to_thread(broker.start_node, node)


async def test_every_input_one_decision_through_faults_and_a_replay(broker, make_worker, pg_table):
    rng = random.Random(SEED)
    inputs = mixed_inputs(rng, N)
    run = await run_stream_with(broker, make_worker, pg_table, f"invariant-seed{SEED}", n_good=N, rate=150,
                                events={0.3: kill9, 0.6: kill9_leader}, inputs=inputs)
    check(run, "fault")
    first = decisions(run.reader)
    twice = {o: d for o, d in first.items() if len(d) > 1}
    assert not twice, f"seed {SEED}: inputs decided two ways in the first pass: {list(twice.items())[:5]}"

    # replay all of news.raw to the live worker; each input comes out again
    from tests.conftest import settings_for
    from tests.chaos.ground_truth import TerminalReader

    settings = settings_for(broker, partitions=4)
    env = {**os.environ, **broker.env(), "NEWSFLOW_BROKER": broker.address}
    done = subprocess.run([sys.executable, "-m", "pipeline", "replay", "--topic", topics.RAW], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    reader = await TerminalReader(settings).start()
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            await reader.poll()
            per_origin = defaultdict(int)
            for recs in reader.records.values():
                for r in recs:
                    per_origin[r["origin"]] += 1
            if all(per_origin[r.origin] >= 2 for r in inputs):
                break
        await reader.until(set(), timeout=5, settle=5)
    finally:
        await reader.stop()
    again = decisions(reader)
    missing = [r.origin for r in inputs if sum(1 for recs in reader.records.values() for x in recs
                                                if x["origin"] == r.origin) < 2]
    changed = {o: (first.get(o), d) for o, d in again.items() if d != first.get(o)}
    report("invariant", seed=SEED, inputs=len(inputs), first_pass=run.acc.summary(),
           replayed_out=len(inputs) - len(missing), changed=len(changed))
    assert not missing, f"seed {SEED}: {len(missing)} inputs did not come out of the replay, e.g. {missing[:3]}"
    assert not changed, f"seed {SEED}: a replay re-decided {len(changed)} inputs, e.g. {list(changed.items())[:3]}"
    assert all(w.alive() for w in run.workers)
