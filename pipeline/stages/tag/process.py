"""Issue #5: the tag stage in a child process, so the worker's event loop never waits on the model.

A thread executor keeps the CPU-heavy tagging off the event loop, but not off the GIL: spaCy's model
holds it for long stretches, and under load the loop's heartbeats and Faust's consumer-thread
keepalive came late ("Thread keepalive is not responding", a rebalance). A process pool has its
own interpreters and GILs; articles go there and each comes back as the chain's ``Step`` (tagged, or
its ``StageError``). With ``tag_processes`` > 1 a batch is cut into that many contiguous parts
of near-equal text length (issue 22: a batch waits for its slowest part) tagged at the same time (order kept), so the model uses the cores the rest of the worker leaves free:
the tag stage is about four fifths of an article's CPU time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from pipeline.settings import Settings
from pipeline.stages.chain import Step
from schemas import Article

_pipe = None


def exit_with_parent(parent: int, every_s: float = 1.0) -> threading.Thread:
    """Leave when the worker is gone. A worker killed with SIGKILL cannot stop its pool, and its NER
    processes would otherwise live on, orphaned, each holding a model in memory."""

    def watch() -> None:
        while True:
            time.sleep(every_s)
            if os.getppid() != parent:
                os._exit(0)

    t = threading.Thread(target=watch, name="newsflow-parent-watch", daemon=True)
    t.start()
    return t


def _init(settings: Settings, parent: int | None = None) -> None:
    global _pipe
    from pipeline.stages.chain import Pipeline

    if parent is not None:
        exit_with_parent(parent)
    _pipe = Pipeline(settings)
    _pipe.warm_up(["tag"])


def _tag(articles: list[Article]) -> list[Step]:
    return _pipe.apply("tag", articles)


def make_executor(settings: Settings) -> ProcessPoolExecutor:
    """``tag_processes`` child processes (spawned: no copy of the worker's threads or sockets) holding the model."""
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=settings.tag_processes, mp_context=ctx, initializer=_init,
                               initargs=(settings, os.getpid()))


def split(items: list, parts: int, weight=None) -> list[list]:
    """``items`` in at most ``parts`` contiguous, non-empty slices, in order: of near-equal length, or with
    ``weight`` (item -> cost) of near-equal total cost, each cut where the running cost is nearest its share."""
    parts = max(1, min(parts, len(items)))
    if weight is None or parts == 1:
        size, extra = divmod(len(items), parts)
        out, start = [], 0
        for i in range(parts):
            end = start + size + (1 if i < extra else 0)
            out.append(items[start:end])
            start = end
        return out
    prefix = [0.0]
    for x in items:
        prefix.append(prefix[-1] + max(0.0, float(weight(x))))
    total, n = prefix[-1], len(items)
    cuts = [0]
    for k in range(1, parts):
        goal = total * k / parts
        # the cut nearest the k-th share, after the previous cut and leaving an item for every part still to come
        lo, hi = cuts[-1] + 1, n - (parts - k)
        cuts.append(min(range(lo, hi + 1), key=lambda j: (abs(prefix[j] - goal), j)))
    cuts.append(n)
    return [items[i:j] for i, j in zip(cuts, cuts[1:])]


def article_cost(article: Article) -> int:
    """What tagging an article costs, roughly: the characters the model reads (title and body)."""
    return len(article.title or "") + len(article.body or "")


async def tag_batch(loop, executor: ProcessPoolExecutor, articles: list[Article], parts: int = 1) -> list[Step]:
    """The tag stage's Steps for ``articles``, the batch cut into ``parts`` tagged at the same time."""
    chunks = await asyncio.gather(*(loop.run_in_executor(executor, _tag, c)
                                    for c in split(articles, parts, article_cost)))
    return [step for chunk in chunks for step in chunk]


def runner(settings: Settings):
    """The tag agent's runner (``pipeline.worker.agents``): batches to the child processes."""
    executor = make_executor(settings)

    async def run(articles: list[Article]) -> list[Step]:
        return await tag_batch(asyncio.get_running_loop(), executor, articles, settings.tag_processes)

    run.executor = executor  # type: ignore[attr-defined] - the worker's metrics count its live processes
    return run
