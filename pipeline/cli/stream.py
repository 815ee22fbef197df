"""The streaming commands: ``worker``, ``topics``, ``ingest``, ``tail`` and ``run`` (the main job)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Optional

import typer

from pipeline import topics
from pipeline.cli.context import err, out, read_paths, say, state
from pipeline.errors import ConfigError

app = typer.Typer()


@app.command()
def worker(
    stages: Optional[str] = typer.Option(None, "--stages", help="Comma-separated stages to run (default all): "
                                         + ",".join(topics.STAGES)),
    web: Optional[bool] = typer.Option(None, "--web/--no-web", help="Serve the worker's HTTP endpoints."),
    web_port: Optional[int] = typer.Option(None, "--web-port"),
    log_format: Optional[str] = typer.Option(None, "--log-format", help="Log lines: text (default) or json."),
) -> None:
    """Run the stage agents against the configured broker until stopped (SIGINT/SIGTERM).

    With --web: /health, /ready, /metrics (Prometheus) and POST /articles. One line says when it is ready."""
    import logging

    from faust import Worker

    from pipeline.worker.app import create_app
    from pipeline.kafka.admin import ensure_topics, with_replication

    settings = state.settings(stages=stages, web_enabled=web, web_port=web_port, log_format=log_format)
    settings.check_store()
    settings.bootstrap_servers  # noqa: B018 - fail early and clearly without a broker
    settings = asyncio.run(with_replication(settings))
    asyncio.run(ensure_topics(settings))
    (settings.data_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    faust_app = create_app(settings)
    level = settings.log_level.upper()
    from pipeline.worker.logs import configure

    configure(level, settings.log_format)
    w = Worker(faust_app, loglevel=level, quiet=True, redirect_stdouts=False, override_logging=False)
    w.execute_from_commandline()


@app.command("topics")
def create_topics() -> None:
    """Create every newsflow topic on the configured broker (those that exist are left as they are)."""
    from pipeline.kafka.admin import ensure_topics, topic_partitions

    settings = state.settings()
    asyncio.run(ensure_topics(settings))
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
    from pipeline.connectors.sources.publish import publish_inputs

    settings = state.settings()
    if feed:  # issue 7: RSS/Atom feeds
        _ingest_feeds(settings, feed, every, polls, seen_file)
        if not paths:
            return
    if not paths:
        raise ConfigError("nothing to ingest: give PATH... or --feed URL|FILE")
    items = read_paths(paths, settings)
    done = asyncio.run(publish_inputs(settings, items, on_rejected=lambda p: say(f"{p.origin}: rejected: {p.reason}")))
    for line in done.undelivered:
        say(line)
    err.print(f"published {done.sent} input(s) to {topics.RAW}"
              + (f", {len(done.rejected)} rejected (on {topics.DLQ})" if done.rejected else ""))
    if done.rejected:
        raise typer.Exit(1)


def _ingest_feeds(settings, feeds: list[str], every: Optional[float], polls: Optional[int],
                  seen_file: Optional[Path]) -> None:
    from pipeline.connectors.sources.feeds import SeenStore, poll_feeds

    if every is not None and every <= 0:
        raise ConfigError("--every must be a positive number of seconds")
    store = SeenStore(seen_file or settings.data_dir / "feeds-seen.json")

    def report(message: str) -> None:
        err.print(f"feed: {message}", markup=False, highlight=False, soft_wrap=True)

    def polled(counts: dict[str, int]) -> None:
        for src, c in counts.items():
            if c >= 0:
                err.print(f"{src}: {c} new item(s) published to {topics.RAW}", markup=False, highlight=False,
                          soft_wrap=True)

    try:
        failed = asyncio.run(poll_feeds(settings, feeds, store, every=every, polls=polls, report=report,
                                        on_poll=polled))
    except KeyboardInterrupt:
        return
    if failed:
        raise typer.Exit(1)


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


async def _tail(settings, topic, from_beginning, as_json, count, idle_timeout) -> None:
    from pipeline.kafka.clients import read_topic

    n = 0
    async for msg, value in read_topic(settings, topic, from_beginning=from_beginning, idle_timeout=idle_timeout):
        if as_json:
            sys.stdout.buffer.write(json_line(msg, value) + b"\n")
            sys.stdout.flush()
        else:
            _print_record(topic, value, 500)
        n += 1
        if count is not None and n >= count:
            return


def json_line(msg, value: bytes) -> bytes:
    """A record as one JSON line: JSON records as they are (on one line); anything else (bare text or HTML a
    producer wrote to news.raw) as an object naming where it was read, its text or base64 in ``payload``."""
    import orjson

    from schemas import RawArticle

    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        raw = RawArticle.from_bytes(value or b"", f"{msg.topic}/{msg.partition}@{msg.offset}")
        return orjson.dumps({"topic": msg.topic, "partition": msg.partition, "offset": msg.offset, "json": False,
                             "payload": raw.payload, "payload_encoding": raw.payload_encoding})
    return value if b"\n" not in value else orjson.dumps(doc)


def _print_record(topic: str, value: bytes, raw_chars: int) -> None:
    """A record as a panel or a line; the first ``raw_chars`` bytes of one that does not fit its schema."""
    from pipeline.cli.render import print_outcome
    from pipeline.kafka.wire import decode_for_topic

    try:
        print_outcome(out, topic, decode_for_topic(topic, value))
    except ValueError:
        out.print(value[:raw_chars].decode("utf-8", "replace"), markup=False, highlight=False)


@app.command()
def run(
    paths: Optional[list[str]] = typer.Argument(None, help="Inputs to feed (default: the bundled sample articles)."),
    exit_when_done: bool = typer.Option(False, "--exit-when-done", help="Stop once every input is accounted for."),
    timeout: float = typer.Option(300.0, "--timeout", help="With --exit-when-done: give up after this many seconds."),
    local_broker: Optional[str] = typer.Option(None, "--local-broker", help="Without --broker: start `kafka` (a "
                                               "local Apache Kafka, durable), `embedded` (Tansu, memory-only) or "
                                               "`auto` (Kafka where Java 17+ is installed; the default)."),
    nodes: Optional[int] = typer.Option(None, "--nodes", help="Nodes of the local Kafka: 1 (default) or 3."),
) -> None:
    """Start a broker (a local one unless one is configured), the worker, feed articles, print the output."""
    from pipeline.connectors.sources.files import sample_dir
    from pipeline.worker.supervisor import Tally, supervise

    settings = state.settings(local_broker=local_broker, local_kafka_nodes=nodes)
    items = read_paths(paths or [str(sample_dir())], settings)

    def all_out(t: Tally) -> None:
        err.print(f"[bold]{t.expected} input(s): {t.enriched} enriched, "
                  f"{t.duplicates} duplicate(s), {t.rejected} rejected[/]")
        if not exit_when_done:
            err.print(f"[dim]still running: publish more with `newsflow --broker {t.broker} ingest PATH`; "
                      "Ctrl-C stops[/]")

    tally = supervise(
        settings, items, settings_for=state.settings, config=state.config,
        exit_when_done=exit_when_done, timeout=timeout,
        on_record=lambda topic, value: _print_record(topic, value, 300),
        on_broker=lambda kind, address: err.print(
            f"[dim]local Apache Kafka on {address} (data kept in {settings.data_dir / 'kafka'})[/]" if kind == "kafka"
            else f"embedded broker (Tansu) on {address}: memory-only, everything is lost when `run` stops"),
        on_notice=lambda message: err.print(f"[dim]{message}[/]"),
        on_worker=lambda pid, log, n: err.print(f"[dim]worker started (pid {pid}); this run's state and log: "
                                                f"{log.parent}; feeding {n} input(s)[/]"),
        on_all_out=all_out,
        on_stopping=lambda: err.print("[dim]stopping…[/]"),
    )
    if exit_when_done and tally is not None and tally.rejected:
        raise typer.Exit(1)  # as `process` and `ingest` do when an input was rejected
