"""Issue #5: the tag stage in a child process, so the worker's event loop never waits on the model.

A thread executor keeps the CPU-heavy tagging off the event loop, but not off the GIL: spaCy's model
holds it for long stretches, and under load the loop's heartbeats and Faust's consumer-thread
keepalive came late ("Thread keepalive is not responding", a rebalance). A one-process pool has its
own interpreter and GIL; articles go there and tagged articles come back (StageErrors as tuples,
since they do not pickle).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from pipeline.errors import StageError
from pipeline.settings import Settings
from schemas import Article

_pipe = None


def _init(settings: Settings) -> None:
    global _pipe
    from pipeline.chain import Pipeline

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
    """One child process (spawned: no copy of the worker's threads or sockets) holding the model."""
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_init, initargs=(settings,))


async def tag_batch(loop, executor: ProcessPoolExecutor, articles: list[Article]) -> list[Article | StageError]:
    results = await loop.run_in_executor(executor, _tag, articles)
    return [r[1] if r[0] == "ok" else StageError(r[1], r[2], r[3], r[4]) for r in results]
