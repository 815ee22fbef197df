"""Issue #5: the tag stage in a child process, so the worker's event loop never waits on the model.

A thread executor keeps the CPU-heavy tagging off the event loop, but not off the GIL: spaCy's model
holds it for long stretches, and under load the loop's heartbeats and Faust's consumer-thread
keepalive came late ("Thread keepalive is not responding", a rebalance). A process pool has its
own interpreters and GILs; articles go there and tagged articles come back (StageErrors as tuples,
since they do not pickle). With ``tag_processes`` > 1 a batch is cut into that many contiguous parts
tagged at the same time (order kept), so the model uses the cores the rest of the worker leaves free:
the tag stage is about four fifths of an article's CPU time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from pipeline.errors import StageError
from pipeline.settings import Settings
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
    _pipe.tag_batch([Article(id="warmup", origin="warmup", received_at="2025-01-01T00:00:00Z",
                             raw_format="text", title="Warm up", body="The Minister visited Paris on Monday.")])


def _tag(articles: list[Article]) -> list[tuple]:
    out = []
    for r in _pipe.tag_batch(articles):
        if isinstance(r, StageError):
            out.append(("error", r.stage, r.origin, r.reason, r.article_id))
        else:
            out.append(("ok", r))
    return out


def make_executor(settings: Settings) -> ProcessPoolExecutor:
    """``tag_processes`` child processes (spawned: no copy of the worker's threads or sockets) holding the model."""
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=settings.tag_processes, mp_context=ctx, initializer=_init,
                               initargs=(settings, os.getpid()))


def split(items: list, parts: int) -> list[list]:
    """``items`` in at most ``parts`` contiguous, non-empty slices of near-equal length, in order."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


async def tag_batch(loop, executor: ProcessPoolExecutor, articles: list[Article],
                    parts: int = 1) -> list[Article | StageError]:
    chunks = await asyncio.gather(*(loop.run_in_executor(executor, _tag, c) for c in split(articles, parts)))
    return [r[1] if r[0] == "ok" else StageError(r[1], r[2], r[3], r[4]) for c in chunks for r in c]
