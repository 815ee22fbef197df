"""The ``newsflow`` command line."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from pipeline import topics
from pipeline.brokers.embedded import EMBEDDED_TIMEOUTS
from pipeline.errors import ConfigError, NewsflowError
from pipeline.settings import Settings, load_settings

app = typer.Typer(
    help="newsflow: streaming news processing on Kafka. Raw articles in; clean, de-duplicated, tagged and "
    "enriched articles out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schemas_app = typer.Typer(help="The JSON Schema files of every topic's records.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure the quality of a stage on labelled data.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.add_typer(eval_app, name="eval")

out = Console()
err = Console(stderr=True, soft_wrap=True)  # one line per message, whatever the terminal width


class State:
    config: Optional[Path] = None
    broker: Optional[str] = None
    log_level: Optional[str] = None

    def settings(self, **overrides) -> Settings:
        base = {"broker": self.broker, "log_level": self.log_level}
        base.update({k: v for k, v in overrides.items() if v is not None})
        return load_settings(self.config, **base)


state = State()


@app.callback()
def main(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML settings file (default ./newsflow.toml)."),
    broker: Optional[str] = typer.Option(None, "--broker", "-b", help="Kafka bootstrap servers HOST:PORT[,HOST:PORT]; env NEWSFLOW_BROKER."),
    log_level: Optional[str] = typer.Option(None, "--log-level", help="Worker log level (WARNING)."),
) -> None:
    state.config, state.broker, state.log_level = config, broker, log_level


# --------------------------------------------------------------------------------------------------
# process: the whole chain in-process, no broker
# --------------------------------------------------------------------------------------------------


@app.command()
def process(
    paths: list[str] = typer.Argument(..., help="Files, directories (recursive), .json/.jsonl, or - for stdin."),
    pretty: bool = typer.Option(False, "--pretty", help="Readable panels instead of JSON lines."),
) -> None:
    """Run every stage in-process on the inputs, with no broker: one JSON line per input, in input order."""
    from pipeline.stages.chain import Pipeline
    from pipeline.connectors.sources.files import InputProblem, read_inputs
    from pipeline.cli.render import print_outcome
    from pipeline.kafka.wire import encode

    settings = state.settings()
    pipe = Pipeline(settings)
    items = list(read_inputs(paths, max_bytes=settings.max_payload_bytes))
    raws = [i for i in items if not isinstance(i, InputProblem)]
    outcomes = iter(pipe.process(raws))
    rejected = 0
    for item in items:
        if isinstance(item, InputProblem):
            err.print(f"{item.origin}: rejected: {item.reason}", markup=False, highlight=False)
            rejected += 1
            continue
        o = next(outcomes)
        if o.topic == topics.DLQ:
            err.print(f"{o.record.origin}: rejected: {o.record.stage}: {o.record.reason}", markup=False, highlight=False)
            rejected += 1
        elif pretty:
            print_outcome(out, o.topic, o.record)
        else:
            sys.stdout.buffer.write(encode(o.record) + b"\n")
            sys.stdout.flush()
    if rejected:
        raise typer.Exit(1)


# --------------------------------------------------------------------------------------------------
# worker, ingest, tail
# --------------------------------------------------------------------------------------------------


@app.command()
def worker(
    stages: Optional[str] = typer.Option(None, "--stages", help="Comma-separated stages to run (default all): "
                                         + ",".join(topics.STAGES)),
    web: Optional[bool] = typer.Option(None, "--web/--no-web", help="Serve the worker's HTTP endpoints."),
    web_port: Optional[int] = typer.Option(None, "--web-port"),
) -> None:
    """Run the stage agents against the configured broker until stopped (SIGINT/SIGTERM)."""
    import logging

    from faust import Worker

    from pipeline.worker.app import create_app
    from pipeline.kafka.clients import ensure_topics

    settings = state.settings(stages=stages, web_enabled=web, web_port=web_port)
    settings.bootstrap_servers  # noqa: B018 - fail early and clearly without a broker
    asyncio.run(ensure_topics(settings))
    (settings.data_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    faust_app = create_app(settings)
    level = settings.log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    w = Worker(faust_app, loglevel=level, quiet=True, redirect_stdouts=False, override_logging=False)
    w.execute_from_commandline()


@app.command("topics")
def create_topics() -> None:
    """Create every newsflow topic on the configured broker (those that exist are left as they are)."""
    from pipeline.kafka.clients import topic_partitions

    settings = state.settings()
    asyncio.run(_ensure(settings))
    for name, n in topic_partitions(settings).items():
        err.print(f"{name}: {n} partition(s)")


@app.command()
def ingest(
    paths: Optional[list[str]] = typer.Argument(None, help="Files, directories (recursive), .json/.jsonl, or - for stdin."),
    feed: Optional[list[str]] = typer.Option(None, "--feed", help="RSS/Atom feed URL or file (repeatable); items seen before are skipped."),
    every: Optional[float] = typer.Option(None, "--every", help="With --feed: poll again every this many seconds."),
    polls: Optional[int] = typer.Option(None, "--polls", help="With --every: stop after this many polls."),
    seen_file: Optional[Path] = typer.Option(None, "--seen-file", help="With --feed: state file (default DATA_DIR/feeds-seen.json)."),
) -> None:
    """Publish articles to news.raw, exactly as read. Unreadable inputs go to news.dlq and are listed."""
    from pipeline.connectors.sources.files import InputProblem, read_inputs

    settings = state.settings()
    if feed:  # issue 7: RSS/Atom feeds
        _ingest_feeds(settings, feed, every, polls, seen_file)
        if not paths:
            return
    if not paths:
        raise ConfigError("nothing to ingest: give PATH... or --feed URL|FILE")
    items = list(read_inputs(paths, max_bytes=settings.max_payload_bytes))
    problems = [i for i in items if isinstance(i, InputProblem)]
    raws = [i for i in items if not isinstance(i, InputProblem)]
    sent = asyncio.run(_ingest(settings, raws, problems))
    for p in problems:
        err.print(f"{p.origin}: rejected: {p.reason}", markup=False, highlight=False)
    err.print(f"published {sent} input(s) to {topics.RAW}" + (f", {len(problems)} rejected" if problems else ""))
    if problems:
        raise typer.Exit(1)


async def _ingest(settings: Settings, raws, problems) -> int:
    from pipeline.stages.chain import dead_letter
    from pipeline.errors import RejectedInput
    from pipeline.kafka.clients import ensure_topics, make_producer, publish_raw, _start_with_retry
    from pipeline.kafka.wire import encode

    await ensure_topics(settings)
    producer = make_producer(settings)
    await _start_with_retry(producer.start, settings, 30.0)
    try:
        for p in problems:
            dl = dead_letter(RejectedInput("ingest", p.origin, p.reason), p.payload)
            await producer.send_and_wait(topics.DLQ, value=encode(dl), key=p.origin.encode())
        return await publish_raw(settings, raws, producer)
    finally:
        await producer.stop()


@app.command()
def tail(
    topic: str = typer.Option(topics.ENRICHED, "--topic", "-t", help="Topic to read."),
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Start at the oldest record."),
    as_json: bool = typer.Option(False, "--json", help="Print records as JSON lines."),
    count: Optional[int] = typer.Option(None, "--count", "-n", help="Stop after this many records."),
    idle_timeout: Optional[float] = typer.Option(None, "--idle-timeout", help="Stop after this many seconds without a record."),
) -> None:
    """Print the records of a topic as they arrive."""
    settings = state.settings()
    try:
        asyncio.run(_tail(settings, topic, from_beginning, as_json, count, idle_timeout))
    except KeyboardInterrupt:
        pass


def _decode_any(topic: str, value: bytes):
    from schemas import TOPIC_RECORDS
    from pipeline.kafka.wire import decode

    model = TOPIC_RECORDS.get(topic)
    return decode(value, model) if model else value


async def _tail(settings, topic, from_beginning, as_json, count, idle_timeout) -> None:
    from pipeline.kafka.clients import read_topic
    from pipeline.cli.render import print_outcome

    n = 0
    async for _msg, value in read_topic(settings, topic, from_beginning=from_beginning, idle_timeout=idle_timeout):
        if as_json:
            sys.stdout.buffer.write(value + b"\n")
            sys.stdout.flush()
        else:
            try:
                print_outcome(out, topic, _decode_any(topic, value))
            except ValueError:
                out.print(value[:500])
        n += 1
        if count is not None and n >= count:
            return


# --------------------------------------------------------------------------------------------------
# run: the main job
# --------------------------------------------------------------------------------------------------


@app.command()
def run(
    paths: Optional[list[str]] = typer.Argument(None, help="Inputs to feed (default: the bundled sample articles)."),
    exit_when_done: bool = typer.Option(False, "--exit-when-done", help="Stop once every input is accounted for."),
    timeout: float = typer.Option(300.0, "--timeout", help="With --exit-when-done: give up after this many seconds."),
) -> None:
    """Start a broker (embedded unless one is configured), the worker, feed articles, print the output."""
    from pipeline.brokers.embedded import EmbeddedBroker
    from pipeline.connectors.sources.files import InputProblem, read_inputs, sample_dir

    settings = state.settings()
    embedded = None
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    items = list(read_inputs(paths or [str(sample_dir())], max_bytes=settings.max_payload_bytes))
    worker_proc = None
    try:
        if not settings.broker:
            embedded = EmbeddedBroker(log_path=data_dir / "broker.log").start()
            settings = state.settings(broker=embedded.address, **EMBEDDED_TIMEOUTS)
            env.update({f"NEWSFLOW_{k.upper()}": str(v) for k, v in EMBEDDED_TIMEOUTS.items()})
            err.print(f"[dim]embedded broker (Tansu, memory-only) on {embedded.address}[/]")
        env["NEWSFLOW_BROKER"] = settings.broker
        asyncio.run(_ensure(settings))
        log = open(data_dir / "worker.log", "ab")
        cmd = [sys.executable, "-m", "pipeline"] + (["--config", str(state.config)] if state.config else []) + ["worker"]
        worker_proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        err.print(f"[dim]worker started (pid {worker_proc.pid}, log {data_dir / 'worker.log'}); "
                  f"feeding {len(items)} input(s)[/]")
        asyncio.run(_run_loop(settings, items, worker_proc, exit_when_done, timeout))
    except KeyboardInterrupt:
        err.print("[dim]stopping…[/]")
    finally:
        if worker_proc and worker_proc.poll() is None:
            worker_proc.send_signal(signal.SIGTERM)
            try:
                worker_proc.wait(15)
            except subprocess.TimeoutExpired:
                worker_proc.kill()
        if embedded:
            embedded.stop()


async def _ensure(settings: Settings) -> None:
    from pipeline.kafka.clients import ensure_topics

    await ensure_topics(settings)


async def _run_loop(settings: Settings, items, worker_proc, exit_when_done: bool, timeout: float) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from pipeline.connectors.sources.files import InputProblem
    from pipeline.kafka.clients import _start_with_retry, max_message_bytes
    from pipeline.cli.render import print_outcome

    consumer = AIOKafkaConsumer(**settings.kafka_client_kwargs(), enable_auto_commit=False,
                                max_partition_fetch_bytes=max_message_bytes(settings))
    await _start_with_retry(consumer.start, settings, 30.0)
    try:
        tps = [TopicPartition(t, p) for t in topics.TERMINAL
               for p in (consumer.partitions_for_topic(t) or await _partitions(consumer, t))]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, ends[tp])
        raws = [i for i in items if not isinstance(i, InputProblem)]
        problems = [i for i in items if isinstance(i, InputProblem)]
        await _ingest(settings, raws, problems)
        expected = len(items)
        counts = {t: 0 for t in topics.TERMINAL}
        started = time.monotonic()
        announced = False
        while True:
            if worker_proc.poll() is not None:
                raise ConfigError(f"the worker stopped (exit {worker_proc.returncode}); see {settings.data_dir / 'worker.log'}")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, msgs in batch.items():
                for m in msgs:
                    counts[tp.topic] += 1
                    try:
                        print_outcome(out, tp.topic, _decode_any(tp.topic, m.value))
                    except ValueError:
                        out.print(m.value[:300])
            done = sum(counts.values())
            if done >= expected and not announced:
                announced = True
                err.print(f"[bold]{expected} input(s): {counts[topics.ENRICHED]} enriched, "
                          f"{counts[topics.DUPLICATES]} duplicate(s), {counts[topics.DLQ]} rejected[/]")
                if exit_when_done:
                    return
                err.print(f"[dim]still running: publish more with `newsflow --broker {settings.broker} ingest PATH`; "
                          "Ctrl-C stops[/]")
            if exit_when_done and time.monotonic() - started > timeout:
                raise ConfigError(f"only {done} of {expected} inputs came out within {timeout:.0f} s")
    finally:
        await consumer.stop()


async def _partitions(consumer, topic: str) -> set[int]:
    for _ in range(50):
        await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata of topics not subscribed
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return parts
        await asyncio.sleep(0.2)
    raise ConfigError(f"topic {topic} has no partitions")


# --------------------------------------------------------------------------------------------------
# schemas
# --------------------------------------------------------------------------------------------------


@schemas_app.command("export")
def schemas_export(
    directory: Path = typer.Option(Path(__file__).resolve().parents[2] / "schemas" / "json", "--dir", help="Where to write the files."),
    check: bool = typer.Option(False, "--check", help="Only check that the files are up to date."),
) -> None:
    """Write (or check) one JSON Schema file per topic record."""
    from schemas.export import export, stale

    if check:
        bad = stale(directory)
        if bad:
            err.print(f"out of date: {', '.join(bad)}; run `newsflow schemas export`")
            raise typer.Exit(1)
        err.print("schema files are up to date")
        return
    for path in export(directory):
        err.print(f"wrote {path}")


# --------------------------------------------------------------------------------------------------
# issue #3: eval dedup
# --------------------------------------------------------------------------------------------------

_DEFAULT_EVAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "eval"


@eval_app.command("dedup")
def eval_dedup(
    data: Path = typer.Option(_DEFAULT_EVAL_DIR, "--data", help="Directory with conll2003-{train,valid,test}.txt "
                              "(default ../shared/eval beside the checkout)."),
    splits: str = typer.Option("valid,test", "--splits", help="CoNLL files to build the set from (train was used to tune)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Near-duplicate threshold (default: settings)."),
    memory_articles: int = typer.Option(20_000, "--memory-articles", help="Index size for the memory measurement."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Precision and recall of dedup on CoNLL-2003 articles with syndicated copies; speed and memory."""
    import json

    from pipeline.measure.eval.dedup import evaluate

    settings = state.settings()
    res = evaluate(data, tuple(s.strip() for s in splits.split(",") if s.strip()),
                   threshold=threshold if threshold is not None else settings.near_duplicate_threshold,
                   cluster_threshold=settings.cluster_threshold, memory_articles=memory_articles)
    if as_json:
        print(json.dumps(res))
        return
    for k, v in res.items():
        out.print(f"{k:32} {v}", markup=False, highlight=False)


# --------------------------------------------------------------------------------------------------
# issue #6: eval enrich (throughput of the enrich stage)
# --------------------------------------------------------------------------------------------------


@eval_app.command("enrich")
def eval_enrich(
    paths: Optional[list[str]] = typer.Argument(None, help="Inputs (default: the bundled samples and the seed article)."),
    articles: int = typer.Option(2000, "--articles", min=1, help="Articles to enrich (the inputs, repeated)."),
    enrichers: Optional[str] = typer.Option(None, "--enrichers", help="Comma-separated enrichers (default all)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of a table."),
) -> None:
    """Articles per second of the whole enrich stage on one core (tagging done once, untimed)."""
    import json

    from pipeline.stages.enrich import REGISTRY
    from pipeline.measure.enrich_speed import run as bench

    names = [s.strip() for s in enrichers.split(",") if s.strip()] if enrichers else None
    unknown = [n for n in names or [] if n not in REGISTRY]
    if unknown:
        raise ConfigError(f"unknown enricher(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    try:
        res = bench(paths or None, articles=articles, enrichers=names)
    except (ValueError, OSError) as exc:
        raise ConfigError(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(res))
        return
    out.print(f"enrich stage: [bold]{res['articles_per_s']}[/] articles/s wall, {res['articles_per_cpu_s']} per CPU-second "
              f"on cpu {res['cpu']} ({res['articles']} articles, {res['distinct_articles']} distinct, "
              f"mean {res['mean_chars']} chars); p50 {res['latency_ms_p50']} ms, p95 {res['latency_ms_p95']} ms")
    out.print("per enricher (CPU ms/article): " + ", ".join(f"{k} {v}" for k, v in res["per_enricher_cpu_ms"].items()))
    out.print(f"data load (gazetteer, lexicon): {res['load_s']} s, once per worker")


# issue 7: replay, sinks, feeds (README "Replay" and "Consuming the output")
# --------------------------------------------------------------------------------------------------

sink_app = typer.Typer(help="Write news.enriched into files or a database, as a consumer group.", no_args_is_help=True)
app.add_typer(sink_app, name="sink")


@app.command()
def replay(
    topic: str = typer.Option(topics.RAW, "--topic", "-t", help="Input topic of a stage (news.raw re-runs every stage)."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Replay this stage's input topic (instead of --topic)."),
    partition: Optional[list[int]] = typer.Option(None, "--partition", "-p", help="Only this partition (repeatable)."),
    from_offset: Optional[list[str]] = typer.Option(None, "--from-offset", help="First offset: N (every partition) or P:N (repeatable)."),
    to_offset: Optional[list[str]] = typer.Option(None, "--to-offset", help="Last offset, inclusive: N or P:N (repeatable)."),
    since: Optional[str] = typer.Option(None, "--since", help="Records at or after: ISO 8601 or relative (30m, 2h, 7d)."),
    until: Optional[str] = typer.Option(None, "--until", help="Records at or before: ISO 8601 or relative."),
    stages: Optional[str] = typer.Option(None, "--stages", help="Run only these stages, in-process (e.g. parse,dedup); implies --in-process."),
    in_process: bool = typer.Option(False, "--in-process", help="Run the stages in this process instead of re-sending to the live workers."),
    reset_group: bool = typer.Option(False, "--reset-group", help="Move the live group's committed offsets back instead (workers must be stopped)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print how many records per partition would be replayed."),
    reset_wait: float = typer.Option(0.0, "--reset-wait", help="With --reset-group: wait this long for stopped workers to leave the group."),
    force: bool = typer.Option(False, "--force", help="With --reset-group: skip the live-member check (embedded broker: it never forgets a member)."),
) -> None:
    """Re-run records of a stage's input topic through the pipeline, by offset or time range."""
    from pipeline.kafka import replay as rp

    if stage:
        if stage not in topics.STAGE_TOPICS:
            raise ConfigError(f"unknown stage {stage}; known: {', '.join(topics.STAGES)}")
        topic = topics.STAGE_TOPICS[stage][0]
    if reset_group and (stages or in_process):
        raise ConfigError("--reset-group moves the workers' offsets; it does not combine with --stages/--in-process")
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    chosen = rp.stages_to_run(topic, stage_list) if (stage_list or in_process) else None
    when_since = rp.parse_when(since) if since else None
    when_until = rp.parse_when(until) if until else None
    settings = state.settings()
    asyncio.run(_replay(settings, topic, partition, from_offset, to_offset, when_since, when_until, chosen,
                        reset_group, dry_run, reset_wait, force))


async def _replay(settings, topic, partition, from_offset, to_offset, since, until, chosen, reset_group, dry_run,
                  reset_wait=0.0, force=False) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from pipeline.kafka import replay as rp

    plan = await rp.plan_replay(settings, topic, partitions=partition, from_offsets=from_offset, to_offsets=to_offset,
                                since=since, until=until)
    for r in plan.ranges:
        how = {"offsets": "", "broker": " (time lookup: broker)", "scan": " (time lookup: broker answer wrong, scanned)"}[r.lookup]
        span = f"offsets {r.start}..{r.stop - 1}: {r.count} record(s)" if r.count else "no records"
        err.print(f"{topic}/{r.partition}: {span}{how}", markup=False, highlight=False)
    err.print(f"{plan.total} record(s) in {len(plan.ranges)} partition(s)", markup=False, highlight=False)
    if dry_run:
        return
    if reset_group:
        if to_offset or until:
            err.print("note: --reset-group rewinds to the start of the range; the workers re-read everything after it")
        done = await rp.reset_group(settings, plan, settings.app_id, wait_s=reset_wait, force=force)
        err.print(f"group {settings.app_id}: committed offsets on {topic} now "
                  + ", ".join(f"{p}@{o}" for p, o in sorted(done.items())), markup=False, highlight=False)
        return
    if plan.total == 0:
        return
    with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]:.0f} rec/s"), TimeRemainingColumn(), console=err,
                  transient=False) as bar:
        task = bar.add_task("replay", total=plan.total, rate=0.0)
        t0 = time.monotonic()
        done_n = [0]

        def advance(n: int) -> None:
            done_n[0] += n
            bar.update(task, advance=n, rate=done_n[0] / max(time.monotonic() - t0, 1e-6))

        if chosen:
            counts = await rp.replay_in_process(settings, plan, chosen, advance)
        else:
            n = await rp.replay_republish(settings, plan, advance)
            counts = {topic: n}
    err.print("replayed " + ", ".join(f"{n} to {t}" for t, n in counts.items()) if counts else "replayed nothing",
              markup=False, highlight=False)


@sink_app.command("jsonl")
def sink_jsonl(
    directory: Path = typer.Option(..., "--dir", help="Directory of the JSONL files."),
    max_bytes: int = typer.Option(64 * 1024 * 1024, "--max-bytes", help="Rotate files at this size."),
    keep: Optional[int] = typer.Option(None, "--keep", help="Keep only this many finished files."),
    group: str = typer.Option("newsflow-sink-jsonl", "--group", help="Consumer group."),
    idle_timeout: Optional[float] = typer.Option(None, "--idle-timeout", help="Stop after this many seconds without a record."),
) -> None:
    """Write news.enriched to rotating JSONL files, as a consumer group (commits after each flushed batch)."""
    from pipeline.connectors.sinks.jsonl import JsonlSink

    if max_bytes < 1:
        raise ConfigError("--max-bytes must be positive")
    _run_sink(state.settings(), JsonlSink(directory, max_bytes=max_bytes, keep=keep), group, idle_timeout)


@sink_app.command("postgres")
def sink_postgres(
    dsn: Optional[str] = typer.Option(None, "--dsn", help="PostgreSQL DSN; env NEWSFLOW_POSTGRES_DSN."),
    table: Optional[str] = typer.Option(None, "--table", help="Table (default articles)."),
    group: str = typer.Option("newsflow-sink-postgres", "--group", help="Consumer group."),
    idle_timeout: Optional[float] = typer.Option(None, "--idle-timeout", help="Stop after this many seconds without a record."),
) -> None:
    """Upsert news.enriched into PostgreSQL by article id, as a consumer group."""
    from pipeline.connectors.sinks.postgres import PostgresSink

    settings = state.settings(postgres_dsn=dsn, postgres_table=table)
    settings.bootstrap_servers  # noqa: B018 - fail early without a broker
    _run_sink(settings, PostgresSink(settings.postgres_dsn, settings.postgres_table), group, idle_timeout)


def _run_sink(settings: Settings, sink, group: str, idle_timeout: Optional[float]) -> None:
    from pipeline.connectors.sinks import run_sink

    total = [0]

    def seen(n: int) -> None:
        total[0] += n
        err.print(f"[dim]{total[0]} article(s) written[/]")

    try:
        asyncio.run(run_sink(settings, sink, group, idle_timeout=idle_timeout, on_batch=seen))
    except KeyboardInterrupt:
        pass
    err.print(f"{total[0]} article(s) written", markup=False, highlight=False)


@schemas_app.command("baseline")
def schemas_baseline(
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing baseline (only before a release)."),
) -> None:
    """Fix the current schemas as the baseline of this schema_version (schemas/json/baseline/vN/)."""
    from schemas.compat import baseline_dir, check_against_baseline, write_baseline
    from schemas.records import SCHEMA_VERSION

    written = write_baseline(overwrite=overwrite)
    for p in written:
        err.print(f"wrote {p}")
    bad = check_against_baseline()
    if bad:
        for topic, problems in bad.items():
            for pr in problems:
                err.print(f"{topic}: {pr}", markup=False, highlight=False)
        err.print(f"breaking changes against {baseline_dir()}: bump SCHEMA_VERSION (now {SCHEMA_VERSION})")
        raise typer.Exit(1)


def _ingest_feeds(settings: Settings, feeds: list[str], every: Optional[float], polls: Optional[int],
                  seen_file: Optional[Path]) -> None:
    from pipeline.connectors.sources.feeds import SeenStore

    if every is not None and every <= 0:
        raise ConfigError("--every must be a positive number of seconds")
    store = SeenStore(seen_file or settings.data_dir / "feeds-seen.json")
    try:
        failed = asyncio.run(_poll_feeds(settings, feeds, every, polls, store))
    except KeyboardInterrupt:
        return
    if failed:
        raise typer.Exit(1)


async def _poll_feeds(settings: Settings, feeds: list[str], every, polls, store) -> bool:
    from pipeline.connectors.sources.feeds import poll_once
    from pipeline.kafka.clients import _start_with_retry, ensure_topics, make_producer

    await ensure_topics(settings)
    producer = make_producer(settings)
    await _start_with_retry(producer.start, settings, 30.0)
    n = 0
    try:
        while True:
            counts = await poll_once(settings, feeds, store, producer, settings.max_payload_bytes * 64,
                                     report=lambda m: err.print(f"feed: {m}", markup=False, highlight=False,
                                                               soft_wrap=True))
            for src, c in counts.items():
                if c >= 0:
                    err.print(f"{src}: {c} new item(s) published to {topics.RAW}", markup=False, highlight=False,
                              soft_wrap=True)
            n += 1
            if every is None or (polls is not None and n >= polls):
                return any(c < 0 for c in counts.values())
            await asyncio.sleep(every)
    finally:
        await producer.stop()
# issue #4: typo normalization evaluation
# --------------------------------------------------------------------------------------------------


@eval_app.command("typos")
def eval_typos(
    data: Path = typer.Option(Path("../shared/eval"), "--data", help="Folder with conll2003-{train,valid,test}.txt."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    seed: int = typer.Option(13, "--seed", help="Seed of the error injection."),
    docs: Optional[int] = typer.Option(None, "--docs", min=1, help="Only the first N documents."),
    split: str = typer.Option("test", "--split", help="CoNLL file to use: test (measured), valid or train (tuning)."),
    examples: bool = typer.Option(False, "--examples", help="Also print missed repairs and wrong changes."),
) -> None:
    """Typo repair on CoNLL-2003 news with injected misspellings, broken and glued words."""
    import json

    from pipeline.measure.eval.typos import EvalDataMissing, evaluate

    if split not in ("test", "valid", "train"):
        err.print(f"[red]error:[/] --split must be test, valid or train, not {split!r}")
        raise typer.Exit(2)
    settings = state.settings()
    from pipeline.stages.normalize import load_custom_words

    try:
        custom = load_custom_words(settings)
        sc = evaluate(data, split=split, seed=seed, docs=docs, custom_words=custom)
    except (EvalDataMissing, NewsflowError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1)
    res = sc.as_dict()
    res.update(split=split, seed=seed)
    if examples:
        res["examples"] = sc.examples
    if as_json:
        print(json.dumps(res))
        return
    out.print(f"[bold]typo repair[/] on CoNLL-2003 {split} ({res['docs']} documents, {res['words']} words, "
              f"{res['injected']} injected errors, seed {seed})")
    for key in ("recall", "precision", "names_changed", "false_per_10k", "wrong_fixes", "tokens_per_s"):
        out.print(f"  {key:14} {res[key]}")
    out.print(f"  recall by kind {res['recall_by_kind']}")
    if examples:
        for bucket, lines in sc.examples.items():
            out.print(f"[bold]{bucket}[/]")
            for line in lines:
                out.print("  " + line, markup=False, highlight=False)
# Issue #5: entity tagging evaluation (`newsflow eval entities`)
# --------------------------------------------------------------------------------------------------


@eval_app.command("entities")
def eval_entities(
    data: Path = typer.Option(Path("../shared/eval"), "--data", help="Folder with conll2003-test.txt."),
    model: str = typer.Option("", "--model", help="spaCy model package or path (default: newsflow's shipped model)."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also measure untuned en_core_web_sm."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Entity-level precision, recall and F1 on CoNLL-2003 test (exact span, mapped label), tokens/s on one core."""
    import json

    from pipeline.measure.eval.entities import evaluate

    test = data / "conll2003-test.txt"
    if not test.exists():
        err.print(f"newsflow: error: {test} not found; the CoNLL-2003 files live in ../shared/eval "
                  "(pass --data DIR)", markup=False, highlight=False)
        raise typer.Exit(2)
    try:
        res = evaluate(data, model=model, baseline=baseline)
    except (OSError, ValueError) as exc:
        err.print(f"newsflow: error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(res))
        return
    out.print(f"model: {res['model']}", markup=False, highlight=False)
    out.print(f"CoNLL-2003 test ({res['documents']} documents, {res['speed']['tokens']} tokens): "
              f"P {res['precision']:.3f}  R {res['recall']:.3f}  F1 {res['f1']:.3f}", markup=False, highlight=False)
    for lab, r in res["per_label"].items():
        out.print(f"  {lab:5} P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}", markup=False, highlight=False)
    out.print(f"tag stage speed, one thread: {res['tokens_per_s']:,} tokens per CPU-second "
              f"({res['tokens_per_wall_s']:,} per wall-clock second)", markup=False, highlight=False)
    if baseline:
        out.print(f"baseline {res['baseline_model']}: P {res['baseline_precision']:.3f}  R {res['baseline_recall']:.3f}  "
                  f"F1 {res['baseline_f1']:.3f}, {res['baseline_tokens_per_s']:,} tokens per CPU-second",
                  markup=False, highlight=False)
# issue 9: bench — throughput, latency, memory and scaling, against peers in the same run
# --------------------------------------------------------------------------------------------------


@app.command()
def bench(
    articles: int = typer.Option(2000, "--articles", "-n", min=1, help="Articles in the generated corpus."),
    seed: int = typer.Option(7, "--seed", help="Corpus seed (same seed and N: same bytes)."),
    data: Path = typer.Option(Path(__file__).resolve().parents[3] / "shared" / "eval", "--data",
                              help="CoNLL-2003 files for the corpus text; absent: the shipped samples, recombined."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout (the table goes to stderr)."),
    out_dir: Path = typer.Option(Path("bench-results"), "--out", help="Where the JSON, the chart and the logs go."),
    partitions: int = typer.Option(4, "--partitions", min=1, help="Partitions of the topics (scaling needs >= 2)."),
    naive_articles: int = typer.Option(400, "--naive-articles", min=0,
                                       help="Articles the naive spaCy peer runs on (an even sample; 0: all)."),
    latency_seconds: float = typer.Option(20.0, "--latency-seconds", min=1.0, help="Length of the paced latency run."),
    transport_messages: int = typer.Option(0, "--transport-messages", min=0,
                                           help="Messages of the transport pair (0: max(articles, 4000))."),
    skip_naive: bool = typer.Option(False, "--skip-naive", help="Skip the naive spaCy peer."),
    skip_latency: bool = typer.Option(False, "--skip-latency", help="Skip the paced latency run."),
    skip_scaling: bool = typer.Option(False, "--skip-scaling", help="Skip the 2-worker run."),
    skip_transport: bool = typer.Option(False, "--skip-transport", help="Skip the no-op pipeline and the aiokafka loop."),
    profile: bool = typer.Option(False, "--profile", help="Also profile the in-process chain (pyinstrument)."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="PNG path (default OUT/bench.png)."),
    timeout: float = typer.Option(900.0, "--timeout", help="Give up on a streaming phase after this many seconds."),
) -> None:
    """Measure throughput, latency, memory and scaling, against a naive spaCy loop and a raw aiokafka loop."""
    from pipeline.measure.bench.report import ordered, print_table, write_chart, write_json
    from pipeline.measure.bench.runner import BenchOptions, run_bench

    console = err if as_json else out
    data_dir: Optional[Path] = data if data.is_dir() else None
    if data_dir is None:
        err.print(f"[yellow]{data} not found: the corpus is built from the shipped sample articles instead of "
                  "CoNLL-2003[/]")
    opts = BenchOptions(
        articles=articles, seed=seed, data_dir=data_dir, broker=state.settings().broker, partitions=partitions,
        out_dir=out_dir, naive_articles=naive_articles, latency_seconds=latency_seconds,
        transport_messages=transport_messages, skip_naive=skip_naive, skip_latency=skip_latency,
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


def _term_as_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def entrypoint() -> None:
    # SIGTERM (kill, a supervisor, a CI timeout) takes the same clean path as Ctrl-C: the embedded broker and
    # the worker processes a command started are stopped, not left behind. `worker` installs Faust's own.
    signal.signal(signal.SIGTERM, _term_as_interrupt)
    try:
        app()
    except NewsflowError as exc:
        err.print(f"newsflow: error: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


# --------------------------------------------------------------------------------------------------
# issue 8 (reliability): soak benchmark
# --------------------------------------------------------------------------------------------------


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def soak(ctx: typer.Context) -> None:
    """Soak benchmark (not in CI): stream at 80% of the measured max rate, print RSS and lag every minute.

    Options: --minutes 30 --interval 60 --fraction 0.8 --burst 1000 --rate R (see python -m pipeline.measure.soak -h).
    """
    from pipeline.measure.soak import main as soak_main

    args = list(ctx.args) + (["--broker", state.broker] if state.broker else [])
    raise typer.Exit(soak_main(args))
