"""``newsflow bench`` and ``newsflow soak``: throughput, latency, memory and scaling; the long soak run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from pipeline.cli.context import DEFAULT_EVAL_DIR, err, out, state

app = typer.Typer()


@app.command()
def bench(
    ctx: typer.Context,
    articles: int = typer.Option(2000, "--articles", "-n", min=1, help="Articles in the generated corpus."),
    seed: int = typer.Option(7, "--seed", help="Corpus seed (same seed and N: same bytes)."),
    data: Path = typer.Option(DEFAULT_EVAL_DIR, "--data",
                              help="CoNLL-2003 files for the corpus text; absent: the shipped samples, recombined."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout (the table goes to stderr)."),
    out_dir: Path = typer.Option(Path("bench-results"), "--out", help="Where the JSON, the chart and the logs go."),
    partitions: int = typer.Option(4, "--partitions", min=1, help="Partitions of the topics (scaling needs >= 2)."),
    naive_articles: int = typer.Option(400, "--naive-articles", min=0,
                                       help="Articles the naive spaCy peer runs on (an even sample; 0: all)."),
    latency_seconds: float = typer.Option(20.0, "--latency-seconds", min=1.0, help="Length of the paced latency run."),
    transport_messages: int = typer.Option(0, "--transport-messages", min=0,
                                           help="Messages of the transport pair (0: max(articles, 4000))."),
    ner_peer_articles: int = typer.Option(600, "--ner-peer-articles", min=0,
                                          help="Articles the NER-only spaCy peer runs on (an even sample; 0: all)."),
    scaling_articles: int = typer.Option(1000, "--scaling-articles", min=0,
                                         help="Articles of each scaling phase (the first N; 0: the whole corpus)."),
    skip_naive: bool = typer.Option(False, "--skip-naive", help="Skip the naive spaCy peer."),
    skip_ner_peer: bool = typer.Option(False, "--skip-ner-peer", help="Skip the NER-only spaCy peer."),
    skip_quix: bool = typer.Option(False, "--skip-quix", help="Skip the Quix Streams peer."),
    quix_articles: int = typer.Option(800, "--quix-articles", min=0,
                                      help="Articles of the Quix Streams pipeline peer (the first N; 0: all)."),
    no_embedded: bool = typer.Option(False, "--no-embedded", help="On the local Kafka: skip the same phases on Tansu."),
    quick: bool = typer.Option(False, "--quick", help="CI-size run (a few minutes): 300 articles, small peer samples, "
                               "a 10 s latency run, 4,000 transport messages, scaling on 150 articles."),
    skip_latency: bool = typer.Option(False, "--skip-latency", help="Skip the paced latency run."),
    skip_scaling: bool = typer.Option(False, "--skip-scaling", help="Skip the 2-worker run."),
    skip_transport: bool = typer.Option(False, "--skip-transport", help="Skip the no-op pipeline and the aiokafka loop."),
    profile: bool = typer.Option(False, "--profile", help="Also profile the in-process chain (pyinstrument)."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="PNG path (default OUT/bench.png)."),
    timeout: float = typer.Option(900.0, "--timeout", help="Give up on a streaming phase after this many seconds."),
    local_broker: str = typer.Option("kafka", "--broker", help="Without a global --broker HOST:PORT: `kafka` (a local "
                                     "Apache Kafka for every phase, the default; Tansu figures beside unless "
                                     "--no-embedded), `embedded` (a fresh Tansu per phase) or `auto` (Kafka where Java "
                                     "17+ is installed)."),
) -> None:
    """Measure throughput, latency, memory and scaling, against a naive spaCy loop and a raw aiokafka loop."""
    from pipeline.measure.bench.report import ordered, print_table, write_chart, write_json
    from pipeline.measure.bench.runner import BenchOptions, run_bench

    from pipeline.brokers import resolve_kind

    console = err if as_json else out
    local_broker = resolve_kind(local_broker, say=lambda msg: err.print(f"[yellow]{msg}[/]"))
    data_dir: Optional[Path] = data if data.is_dir() else None
    if data_dir is None:
        err.print(f"[yellow]{data} not found: the corpus is built from the shipped sample articles instead of "
                  "CoNLL-2003[/]")
    if quick:  # explicit values of these options still win over --quick's
        given = lambda name: ctx.get_parameter_source(name).name != "DEFAULT"  # noqa: E731
        articles = articles if given("articles") else 300
        naive_articles = naive_articles if given("naive_articles") else 100
        ner_peer_articles = ner_peer_articles if given("ner_peer_articles") else 150
        latency_seconds = latency_seconds if given("latency_seconds") else 10.0
        transport_messages = transport_messages if given("transport_messages") else 4000
        scaling_articles = scaling_articles if given("scaling_articles") else 150
        quix_articles = quix_articles if given("quix_articles") else 150
    opts = BenchOptions(
        articles=articles, seed=seed, data_dir=data_dir, broker=state.settings().broker, local_broker=local_broker,
        partitions=partitions,
        out_dir=out_dir, naive_articles=naive_articles, latency_seconds=latency_seconds,
        transport_messages=transport_messages, skip_naive=skip_naive, ner_peer_articles=ner_peer_articles,
        skip_ner_peer=skip_ner_peer, scaling_articles=scaling_articles, skip_quix=skip_quix, quix_articles=quix_articles, compare_embedded=not no_embedded, skip_latency=skip_latency,
        skip_scaling=skip_scaling, skip_transport=skip_transport, profile=profile, phase_timeout=timeout,
        config=state.config, log=lambda msg: err.print(f"[dim]{msg}[/]", highlight=False),
    )
    result = run_bench(opts)
    json_path = write_json(result, out_dir)
    png = write_chart(result, chart or out_dir / "bench.png")
    print_table(result, console)
    console.print(f"[dim]wrote {json_path}" + (f" and {png}" if png else " (no chart: pip install 'newsflow[bench]')")
                  + "[/]")
    if as_json:
        import orjson

        sys.stdout.buffer.write(orjson.dumps(ordered(result), option=orjson.OPT_NON_STR_KEYS) + b"\n")
        sys.stdout.flush()


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def soak(ctx: typer.Context) -> None:
    """Soak benchmark (not in CI): stream at 80% of the measured max rate, print RSS and lag every minute.

    Options: --minutes 30 --interval 60 --fraction 0.8 --burst 1000 --rate R (see python -m pipeline.measure.soak -h).
    """
    from pipeline.measure.soak import main as soak_main

    args = list(ctx.args) + (["--broker", state.broker] if state.broker else [])
    raise typer.Exit(soak_main(args))
