"""``newsflow eval enrich``: throughput of the whole enrich stage on one core.

The inputs go through parse -> normalize -> tag once; then only the enrich stage is timed, over the
tagged articles repeated until ``--articles`` have been enriched, in one process pinned to one CPU.
Per-article caches (sentence splits) are cleared between articles, as in the worker; the
vocabulary caches (word frequencies, gazetteer) stay warm, as they do in a running worker.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

from pipeline.stages.enrich import REGISTRY


def default_inputs() -> list[str]:
    here = Path(__file__).resolve().parent.parent
    paths = [str(here / "samples")]
    seed = here.parent / "tests" / "data" / "seed-article.txt"
    if seed.is_file():
        paths.append(str(seed))
    return paths


def run(paths: list[str] | None = None, articles: int = 2000, enrichers: list[str] | None = None) -> dict[str, Any]:
    from pipeline.stages.chain import Pipeline
    from pipeline.errors import StageError
    from pipeline.connectors.sources.files import InputProblem, read_inputs
    from pipeline.stages.enrich import stage as enrich_stage

    pinned = None
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        pinned = cpu
    paths = paths or default_inputs()
    pipe = Pipeline()
    raws = [i for i in read_inputs(paths, max_bytes=pipe.settings.max_payload_bytes) if not isinstance(i, InputProblem)]
    normalized = []
    for raw in raws:
        try:
            normalized.append(pipe.normalize(pipe.parse(raw)))
        except StageError:
            continue
    tagged = [s.record for s in pipe.apply("tag", normalized) if s.error is None]
    if not tagged:
        raise ValueError("no article to enrich among the inputs")
    t0 = time.perf_counter()
    enrich_stage.warm_up()
    load_s = time.perf_counter() - t0
    for a in tagged:  # first pass: lazy loads and vocabulary caches
        enrich_stage.enrich(a, enrichers=enrichers)
    per_enricher: dict[str, float] = {name: 0.0 for name in REGISTRY if enrichers is None or name in enrichers}
    latencies = []
    n = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while n < articles:
        for a in tagged:
            s = time.perf_counter()
            enrich_stage.enrich(a, enrichers=enrichers)
            latencies.append(time.perf_counter() - s)
            n += 1
            if n >= articles:
                break
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    # more passes, enricher by enricher, for the breakdown
    from pipeline.stages.enrich.text import clear_article_caches

    passes = max(1, min(50, articles // (5 * len(tagged))))
    for _ in range(passes):
        for a in tagged:
            clear_article_caches()
            current = a
            for name in per_enricher:
                e = REGISTRY[name]
                if e.english_only and a.language not in (None, "en"):
                    continue
                s = time.process_time()
                try:
                    current = current.model_copy(update=e.fn(current))
                except Exception:  # noqa: BLE001 - a failing enricher is timed like the others
                    pass
                per_enricher[name] += time.process_time() - s
    latencies.sort()
    return {
        "articles": n,
        "distinct_articles": len(tagged),
        "mean_chars": round(statistics.mean(len(a.body) for a in tagged)),
        "cpu": pinned,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "articles_per_s": round(n / wall, 1),
        "articles_per_cpu_s": round(n / cpu, 1) if cpu > 0 else None,
        "latency_ms_p50": round(latencies[len(latencies) // 2] * 1000, 3),
        "latency_ms_p95": round(latencies[int(len(latencies) * 0.95)] * 1000, 3),
        "per_enricher_cpu_ms": {k: round(v * 1000 / (len(tagged) * passes), 3) for k, v in per_enricher.items()},
        "load_s": round(load_s, 2),
        "inputs": paths,
    }
