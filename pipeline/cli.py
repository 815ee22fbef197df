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
err = Console(stderr=True)

#: short group timeouts for the embedded broker: its first join otherwise waits a full session timeout
EMBEDDED_TIMEOUTS = {"session_timeout_s": 6.0, "rebalance_timeout_s": 4.0, "heartbeat_interval_s": 1.0}


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
    from pipeline.chain import Pipeline
    from pipeline.ingest import InputProblem, read_inputs
    from pipeline.render import print_outcome
    from pipeline.wire import encode

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

    from pipeline.app import create_app
    from pipeline.kafka import ensure_topics

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
    from pipeline.kafka import topic_partitions

    settings = state.settings()
    asyncio.run(_ensure(settings))
    for name, n in topic_partitions(settings).items():
        err.print(f"{name}: {n} partition(s)")


@app.command()
def ingest(
    paths: list[str] = typer.Argument(..., help="Files, directories (recursive), .json/.jsonl, or - for stdin."),
) -> None:
    """Publish articles to news.raw, exactly as read. Unreadable inputs go to news.dlq and are listed."""
    from pipeline.ingest import InputProblem, read_inputs

    settings = state.settings()
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
    from pipeline.chain import dead_letter
    from pipeline.errors import RejectedInput
    from pipeline.kafka import ensure_topics, make_producer, publish_raw, _start_with_retry
    from pipeline.wire import encode

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
    from pipeline.wire import decode

    model = TOPIC_RECORDS.get(topic)
    return decode(value, model) if model else value


async def _tail(settings, topic, from_beginning, as_json, count, idle_timeout) -> None:
    from pipeline.kafka import read_topic
    from pipeline.render import print_outcome

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
    from pipeline.broker import EmbeddedBroker
    from pipeline.ingest import InputProblem, read_inputs, sample_dir

    settings = state.settings()
    embedded = None
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if not settings.broker:
        embedded = EmbeddedBroker(log_path=data_dir / "broker.log").start()
        settings = state.settings(broker=embedded.address, **EMBEDDED_TIMEOUTS)
        env.update({f"NEWSFLOW_{k.upper()}": str(v) for k, v in EMBEDDED_TIMEOUTS.items()})
        err.print(f"[dim]embedded broker (Tansu, memory-only) on {embedded.address}[/]")
    env["NEWSFLOW_BROKER"] = settings.broker
    items = list(read_inputs(paths or [str(sample_dir())], max_bytes=settings.max_payload_bytes))
    worker_proc = None
    try:
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
    from pipeline.kafka import ensure_topics

    await ensure_topics(settings)


async def _run_loop(settings: Settings, items, worker_proc, exit_when_done: bool, timeout: float) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from pipeline.ingest import InputProblem
    from pipeline.kafka import _start_with_retry, max_message_bytes
    from pipeline.render import print_outcome

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
    directory: Path = typer.Option(Path(__file__).resolve().parent.parent / "schemas" / "json", "--dir", help="Where to write the files."),
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


def entrypoint() -> None:
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

    Options: --minutes 30 --interval 60 --fraction 0.8 --burst 1000 --rate R (see python -m pipeline.soak -h).
    """
    from pipeline.soak import main as soak_main

    args = list(ctx.args) + (["--broker", state.broker] if state.broker else [])
    raise typer.Exit(soak_main(args))
