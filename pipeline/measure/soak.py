"""Soak benchmark (issue 8; not in CI): measure the worker's max rate, then stream at a fraction of it
for a long time, printing the worker's RSS and the end-to-end lag every interval. RSS must stay flat.

    python -m pipeline.measure.soak --minutes 30 --interval 60          # or: newsflow soak ...

With no ``--broker`` (or ``--broker embedded``) it starts the embedded broker; ``--broker kafka`` a local
Apache Kafka. Lag is the number of inputs published that have not
yet come out on a terminal topic (news.enriched, news.duplicates, news.dlq).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline import topics
from pipeline.measure.procinfo import children_mb, status_mb
from pipeline.settings import Settings


def rss_mb(pid: int) -> float:
    """The worker's resident memory with its NER child processes."""
    main = status_mb(pid)
    return float("nan") if main is None else main + children_mb(pid)


class Articles:
    """Endless distinct short articles (seeded): a title and a 25-40 word body from common English words."""

    def __init__(self, seed: int = 30):
        from wordfreq import top_n_list

        self.words = [w for w in top_n_list("en", 3000) if w.isalpha() and len(w) > 3][:1500]
        self.rng = random.Random(seed)
        self.n = 0

    def next(self):
        from schemas import RawArticle

        r, w = self.rng, self.words
        self.n += 1
        title = " ".join(r.choice(w) for _ in range(5)).capitalize()
        body = " ".join(r.choice(w) for _ in range(r.randint(25, 40))).capitalize()
        return RawArticle.from_bytes(f"{title} {self.n}\n\n{body} (soak {self.n}).".encode(), f"soak/{self.n}")


class Outputs:
    def __init__(self, settings: Settings):
        self.settings, self.count, self.consumer = settings, 0, None

    async def start(self):
        from aiokafka import AIOKafkaConsumer

        self.consumer = AIOKafkaConsumer(*topics.TERMINAL, **self.settings.kafka_client_kwargs(),
                                         auto_offset_reset="latest", enable_auto_commit=False, group_id=None)
        await self.consumer.start()
        await self.consumer.getmany(timeout_ms=500)  # settle the assignment at "latest"

    async def drain(self, timeout_ms: int = 200) -> None:
        batch = await self.consumer.getmany(timeout_ms=timeout_ms)
        self.count += sum(len(v) for v in batch.values())


async def soak(settings: Settings, worker_pid: int, minutes: float, interval: float, fraction: float,
               burst: int, rate: float | None) -> int:
    from pipeline.kafka.clients import make_producer, publish_raw
    from pipeline.kafka.admin import ensure_topics

    await ensure_topics(settings)
    gen, out = Articles(), Outputs(settings)
    await out.start()
    producer = make_producer(settings)
    await producer.start()
    try:
        # wait until the worker is up (models loaded, group joined): one article through
        await publish_raw(settings, [gen.next()], producer)
        deadline = time.monotonic() + 600
        while out.count < 1 and time.monotonic() < deadline:
            await out.drain()
        out.count = 0
        if rate is None:
            # max rate: a burst, timed from the first publish to the last output
            t0 = time.monotonic()
            await publish_raw(settings, [gen.next() for _ in range(burst)], producer)
            deadline = t0 + 900
            while out.count < burst and time.monotonic() < deadline:
                await out.drain()
            max_rate = out.count / (time.monotonic() - t0)
            rate = max_rate * fraction
            print(f"max rate: {max_rate:.1f} articles/s ({out.count} of {burst} in {time.monotonic() - t0:.1f} s); "
                  f"soaking at {fraction:.0%} = {rate:.1f}/s for {minutes:g} min", flush=True)
        published0, out0 = gen.n, out.count
        start = time.monotonic()
        next_report, rss = start + interval, []
        print(f"{'minute':>6} {'published':>9} {'out':>7} {'lag':>6} {'rss_mb':>7}", flush=True)
        while time.monotonic() - start < minutes * 60:
            due = int((time.monotonic() - start) * rate) - (gen.n - published0)
            if due > 0:
                await publish_raw(settings, [gen.next() for _ in range(min(due, 500))], producer)
            await out.drain(100)
            if time.monotonic() >= next_report:
                rss.append(rss_mb(worker_pid))
                lag = (gen.n - published0) - (out.count - out0)
                print(f"{(time.monotonic() - start) / 60:6.1f} {gen.n - published0:9d} {out.count - out0:7d} "
                      f"{lag:6d} {rss[-1]:7.0f}", flush=True)
                next_report += interval
        if len(rss) >= 2:
            # The first minutes fill what is meant to fill (the dedup window, bounded caches); a leak keeps
            # growing. So the verdict is on the second half: the half-way report to the last one.
            first, half, last, peak = rss[0], rss[len(rss) // 2], rss[-1], max(rss)
            growth, steady = (last - first) / first, (last - half) / half
            flat = steady < 0.05
            print(f"rss first {first:.0f} MB, half-way {half:.0f} MB, last {last:.0f} MB, peak {peak:.0f} MB: "
                  f"growth {growth:+.1%} over the run, {steady:+.1%} over its second half -> "
                  f"{'flat' if flat else 'GROWING'}", flush=True)
            return 0 if flat else 1
        return 0
    finally:
        await producer.stop()
        await out.consumer.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="newsflow soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--broker", default=os.environ.get("NEWSFLOW_BROKER"),
                    help="HOST:PORT of a running broker, or `kafka` / `embedded` for a local one (default: embedded)")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=60.0, help="seconds between reports")
    ap.add_argument("--fraction", type=float, default=0.8, help="fraction of the measured max rate")
    ap.add_argument("--burst", type=int, default=1000, help="articles used to measure the max rate")
    ap.add_argument("--rate", type=float, default=None, help="skip the measurement: articles per second")
    a = ap.parse_args(argv)
    from pipeline.worker.supervisor import sigterm_as_interrupt

    signal.signal(signal.SIGTERM, sigterm_as_interrupt)  # the clean path below: the worker and the broker are stopped

    workdir = Path(tempfile.mkdtemp(prefix="newsflow-soak-"))
    local = None
    timeouts: dict = {}
    if not a.broker or a.broker in ("kafka", "embedded"):
        from pipeline.brokers import local_broker

        local = local_broker(a.broker or "embedded", workdir, nodes=1, say=lambda msg: print(msg, flush=True))
        local.start()
        a.broker, timeouts = local.address, local.settings  # the local broker's profile
    settings = Settings(broker=a.broker, app_id="newsflow-soak", **timeouts)
    env = dict(os.environ, NEWSFLOW_BROKER=a.broker, NEWSFLOW_APP_ID="newsflow-soak",
               NEWSFLOW_DATA_DIR=str(workdir / "data"), NEWSFLOW_LOG_LEVEL="WARNING",
               **{f"NEWSFLOW_{k.upper()}": str(v) for k, v in timeouts.items()})
    log = open(workdir / "worker.log", "ab")
    worker = subprocess.Popen([sys.executable, "-m", "pipeline", "worker"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    print(f"broker {a.broker}, worker pid {worker.pid}, log {workdir / 'worker.log'}", flush=True)
    try:
        return asyncio.run(soak(settings, worker.pid, a.minutes, a.interval, a.fraction, a.burst, a.rate))
    except KeyboardInterrupt:
        return 130
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
        if local:
            local.stop()


if __name__ == "__main__":
    sys.exit(main())
