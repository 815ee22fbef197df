"""A/B runs of worker settings in one command, on one local Apache Kafka (issue 22).

``python -m pipeline.measure.bench.ab VARIANTS [--messages N] [--articles N] [--out DIR]`` runs, in order, one
streaming phase of ``newsflow bench`` per variant. VARIANTS is a JSON list of objects of ``NEWSFLOW_*``
variables for the worker, each with an optional ``"MODE"``: ``noop`` (default: the no-op worker, 5 hops),
``rawloop`` (the raw aiokafka loop), ``pipeline`` (the whole pipeline on the corpus), ``quix-noop``, ``quix``.
One line per run: ``RESULT <variant> <per second> <complete> <seconds> <counts>``. Interleave the baseline
(e.g. ``rawloop``) between the variants: the machine's load changes during a run.

    python -m pipeline.measure.bench.ab '[{"MODE": "rawloop"},
        {"NEWSFLOW_PRODUCER_LINGER_MS": "0", "NEWSFLOW_PRODUCER_MAX_BATCH_BYTES": "16384"}, {}, {"MODE": "rawloop"}]'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from pipeline.cli.context import DEFAULT_EVAL_DIR


def main(argv: list[str] | None = None) -> int:
    from pipeline.brokers.kafka import LocalKafka
    from pipeline.measure.bench.corpus import generate
    from pipeline.measure.bench.runner import BenchOptions, corpus_messages, stream_phase, transport_messages

    ap = argparse.ArgumentParser(prog="python -m pipeline.measure.bench.ab")
    ap.add_argument("variants", help="JSON list of objects of NEWSFLOW_* variables, each with an optional MODE")
    ap.add_argument("--messages", type=int, default=4000, help="messages of a transport run")
    ap.add_argument("--articles", type=int, default=300, help="corpus articles (the pipeline modes' input)")
    ap.add_argument("--out", type=Path, default=Path("bench-results/ab"))
    args = ap.parse_args(argv)
    try:
        variants = json.loads(args.variants)
        assert isinstance(variants, list) and all(isinstance(v, dict) for v in variants)
    except (ValueError, AssertionError):
        ap.error("VARIANTS must be a JSON list of objects")
    data = DEFAULT_EVAL_DIR if DEFAULT_EVAL_DIR.is_dir() else None
    corpus = generate(args.articles, 7, data)
    transport, articles = transport_messages(corpus, args.messages), corpus_messages(corpus)
    opts = BenchOptions(out_dir=args.out, log=print)
    opts.kafka = LocalKafka(args.out / "kafka", nodes=1, say=print).start()
    base = dict(os.environ)

    async def run() -> None:
        for i, variant in enumerate(variants):
            env = {k: str(v) for k, v in variant.items() if k != "MODE"}
            mode = variant.get("MODE", "noop")
            os.environ.clear()
            os.environ.update(base)
            os.environ.update(env)  # the worker processes inherit them
            msgs = articles if mode in ("pipeline", "quix") else transport
            r = await stream_phase(opts, f"ab-{i}", msgs, mode=mode)
            print("RESULT", json.dumps(variant), r["per_s"], r["complete"], r["seconds"], r["counts"], flush=True)

    try:
        asyncio.run(run())
    finally:
        os.environ.clear()
        os.environ.update(base)
        opts.kafka.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
