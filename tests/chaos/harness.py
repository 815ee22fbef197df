"""Inputs and helpers for the fault tests: seeded articles, paced publishing, worker RSS."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from pipeline.kafka.clients import make_producer, publish_raw
from pipeline.measure.procinfo import status_mb
from pipeline.settings import Settings
from schemas import RawArticle

_VOCAB: list[str] | None = None


def vocab() -> list[str]:
    global _VOCAB
    if _VOCAB is None:
        from wordfreq import top_n_list

        _VOCAB = [w for w in top_n_list("en", 3000) if w.isalpha() and len(w) > 3][:1500]
    return _VOCAB


def short_article(rng: random.Random, n: int, tag: str = "") -> bytes:
    """A short article in the scraper text layout: a title, a blank line, a 25-40 word body."""
    words = vocab()
    title = " ".join(rng.choice(words) for _ in range(5)).capitalize()
    body = " ".join(rng.choice(words) for _ in range(rng.randint(25, 40)))
    return f"{title} {n}\n\n{body.capitalize()} {tag}(report {n}).".encode()


def articles(prefix: str, count: int, seed: int = 8) -> list[RawArticle]:
    rng = random.Random(seed)
    return [RawArticle.from_bytes(short_article(rng, i), f"{prefix}/{i}.txt") for i in range(count)]


async def publish_paced(settings: Settings, raws: list[RawArticle], per_second: float, batch: int = 100) -> float:
    """Publish ``raws`` to news.raw at about ``per_second``; returns the seconds it took."""
    producer = make_producer(settings)
    await producer.start()
    t0 = time.monotonic()
    try:
        for i in range(0, len(raws), batch):
            await publish_raw(settings, raws[i:i + batch], producer)
            ahead = (i + batch) / per_second - (time.monotonic() - t0)
            if ahead > 0:
                await asyncio.sleep(ahead)
    finally:
        await producer.stop()
    return time.monotonic() - t0


async def produce_bare(settings: Settings, values: list[bytes]) -> list[str]:
    """Write bare values (no envelope) to news.raw; returns their origins (news.raw/PARTITION@OFFSET)."""
    from pipeline import topics

    producer = make_producer(settings)
    await producer.start()
    try:
        futs = [await producer.send(topics.RAW, value=v) for v in values]
        metas = await asyncio.gather(*futs)
    finally:
        await producer.stop()
    return [f"{m.topic}/{m.partition}@{m.offset}" for m in metas]


def rss_mb(pid: int) -> float:
    rss = status_mb(pid)
    if rss is None:
        raise RuntimeError(f"no VmRSS for pid {pid}")
    return rss


def report(name: str, **figures) -> None:
    """Print a result line (pytest -s shows it; `make chaos` runs with -s) and append it to chaos-results.txt."""
    line = f"[chaos] {name}: " + " ".join(f"{k}={v}" for k, v in figures.items())
    print(line, flush=True)
    out = Path(__file__).resolve().parents[2] / ".newsflow" / "chaos-results.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as f:
        f.write(time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime()) + line + "\n")
