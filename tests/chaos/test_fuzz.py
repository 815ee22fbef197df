"""Fuzz news.raw with 10,000+ bad inputs mixed with good articles (seeded generator): every bad input ends
in news.dlq with a reason, every good article is delivered, the worker never crashes, and its memory
comes back near its baseline afterwards."""

from __future__ import annotations

import gc  # noqa: F401 - documented: the worker's own GC is what brings memory back
import os
import random
import time

import pytest

from pipeline import topics
from pipeline.kafka.clients import publish_raw
from pipeline.kafka.admin import ensure_topics
from schemas import RawArticle
from tests.chaos.ground_truth import TerminalReader, account, sink_rows, wait_for
from tests.chaos.harness import articles, produce_bare, report, rss_mb
from tests.conftest import settings_for

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

N_BAD = int(os.environ.get("NEWSFLOW_CHAOS_FUZZ", "10000"))
N_GOOD = 200
MAX_PAYLOAD = 2_000_000


def bad_inputs(n: int, seed: int = 1234) -> list[tuple[str, bytes]]:
    """(kind, payload) pairs, none of which holds a usable article."""
    rng = random.Random(seed)
    kinds = [
        ("random-bytes", 30, lambda: b"\xff" + rng.randbytes(rng.randint(1, 400))),
        ("invalid-utf8", 20, lambda: b"Headline " + bytes([rng.choice([0xc3, 0xe2, 0xf0, 0x80, 0xfe])]) * rng.randint(1, 5)
            + b" text \xc3\x28 more"),
        ("broken-json", 20, lambda: b'{"title": "' + rng.randbytes(8).hex().encode() + rng.choice([b'", "body": ', b"", b'",', b'"}}'])),
        ("json-not-article", 8, lambda: rng.choice([b"[]", b"[1, 2]", b"{}", b'{"title": ""}', b'{"body": null}', b'{"url": "https://example.com/x"}'])),
        ("deep-json", 5, lambda: (b'{"a":' * rng.randint(2000, 20000)) + b"1" + b"}" * 5),
        ("deep-array", 3, lambda: b"[" * rng.randint(5000, 50000)),
        ("nested-html", 3, lambda: b"<html><body>" + b"<div>" * rng.randint(2000, 6000) + b"</div>" * 10),
        ("empty", 5, lambda: rng.choice([b"", b" ", b"\n\n", b"\t \r\n"])),
        ("control-chars", 5, lambda: b"title\x01\x02\x03\x04\x05\x06\x07\x08" * rng.randint(2, 50)),
        ("huge", 1, lambda: b"word " * (MAX_PAYLOAD // 5 + rng.randint(1000, 100000))),
    ]
    total = sum(w for _, w, _ in kinds)
    out: list[tuple[str, bytes]] = []
    for name, w, make in kinds:
        count = {"huge": 8, "nested-html": 40}.get(name) or max(1, n * w // total)
        out += [(name, make()) for _ in range(count)]
    while len(out) < n:
        out.append(("random-bytes", b"\xff" + rng.randbytes(rng.randint(1, 64))))
    rng.shuffle(out)
    return out


async def test_fuzzed_raw_topic(broker, make_worker, pg_table):
    settings = settings_for(broker, partitions=2)
    await ensure_topics(settings)
    worker = make_worker("newsflow", partitions=2).start()
    # baseline: the worker warmed up and processed some good articles
    warm = articles("warm", 50, seed=3)
    await publish_raw(settings, warm)
    reader = await TerminalReader(settings).start()
    assert await reader.until({r.origin for r in warm}, timeout=300, settle=2), worker.log()[-3000:]
    pid = worker.proc.pid
    rss_base = rss_mb(pid)

    bad = bad_inputs(N_BAD)
    good = articles("fuzz-good", N_GOOD, seed=4)
    t0 = time.monotonic()
    # half the bad inputs as bare messages (the producer wrote raw bytes), half in newsflow's envelope
    bare = [p for i, (_, p) in enumerate(bad) if i % 2 == 0]
    enveloped = [RawArticle.from_bytes(p, f"fuzz/{i}-{k}") for i, (k, p) in enumerate(bad) if i % 2 == 1]
    bare_origins = []
    for i in range(0, len(bare), 500):
        bare_origins += await produce_bare(settings, bare[i:i + 500])
        if i // 500 < len(good) // 20:
            await publish_raw(settings, good[i // 500 * 20:(i // 500 + 1) * 20])
    await publish_raw(settings, enveloped)
    await publish_raw(settings, good[len(bare) // 500 * 20 + 20:] if len(bare) // 500 * 20 + 20 < N_GOOD else [])
    sent_good = {r.origin for r in good}
    bad_origins = set(bare_origins) | {r.origin for r in enveloped}
    everything = bad_origins | sent_good
    came = await reader.until(everything, timeout=600, settle=3)
    elapsed = time.monotonic() - t0
    rss_peak = rss_mb(pid)
    # memory after: give the worker a moment idle, then read its RSS again
    await wait_for(lambda: False, timeout=10)
    rss_after = rss_mb(pid)
    try:
        rows = sink_rows(pg_table, [r for r in reader.records[topics.ENRICHED] if r["origin"] in sent_good])
        acc = account(sorted(everything), rows, reader)
    finally:
        await reader.stop()
    dead = {r["origin"]: r for r in reader.records[topics.DLQ]}
    missing_bad = sorted(bad_origins - set(dead))
    no_reason = [o for o in bad_origins & set(dead) if not dead[o]["reason"] or not dead[o]["stage"]]
    delivered = {o for _, o in rows}
    stages = {}
    for r in dead.values():
        stages[r["stage"]] = stages.get(r["stage"], 0) + 1
    report("fuzz", bad=len(bad_origins), good=len(sent_good), elapsed_s=f"{elapsed:.1f}",
           dlq_by_stage=stages, rss_mb_base=f"{rss_base:.0f}", rss_mb_peak=f"{rss_peak:.0f}",
           rss_mb_after=f"{rss_after:.0f}", summary=acc.summary())
    assert came, acc.summary()
    assert worker.alive() and worker.proc.pid == pid, worker.log()[-3000:]
    assert not missing_bad, f"{len(missing_bad)} bad inputs not in the DLQ, e.g. {missing_bad[:5]}"
    assert not no_reason
    assert sent_good <= delivered, f"good articles not delivered: {sorted(sent_good - delivered)[:5]}"
    assert acc.ok, acc.summary()
    # bounded growth: the worker keeps no per-input memory (the dedup index holds only good articles)
    assert rss_after <= rss_base * 1.25 + 100, (rss_base, rss_after)


def test_generator_covers_every_kind():
    bad = bad_inputs(10_000)
    assert len(bad) >= 10_000
    assert {k for k, _ in bad} >= {"random-bytes", "invalid-utf8", "broken-json", "deep-json", "nested-html",
                                   "empty", "huge", "control-chars"}
    assert all(len(p) <= 4_000_000 for _, p in bad)
