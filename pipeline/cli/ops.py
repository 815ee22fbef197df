"""The operations commands (issue 21): ``status``, ``dlq list|show|redrive`` and ``dashboard``."""

from __future__ import annotations

import asyncio
import sys
from typing import Optional

import orjson
import typer

from pipeline import topics
from pipeline.cli.context import err, out, say, state
from pipeline.errors import ConfigError

app = typer.Typer()
dlq_app = typer.Typer(help="Dead letters on news.dlq: list, show, re-drive after a fix.", no_args_is_help=True)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="One JSON object (with --watch: one a line)."),
    watch: Optional[float] = typer.Option(None, "--watch", help="Refresh every this many seconds (Ctrl-C stops)."),
    group: Optional[list[str]] = typer.Option(None, "--group", "-g", help="Only this consumer group (repeatable)."),
    times: Optional[int] = typer.Option(None, "--times", hidden=True, help="With --watch: stop after this many."),
) -> None:
    """Each stage's consumer groups, members, lag per partition, throughput over the last minute and the dead
    letters, from the broker alone."""
    from pipeline.ops.status import cluster_status, render

    settings = state.settings()
    if watch is not None and watch <= 0:
        raise ConfigError("--watch must be a positive number of seconds")
    if watch is None:
        doc = asyncio.run(cluster_status(settings, group or None))
        if as_json:
            sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        else:
            out.print(render(doc))
        return
    try:
        asyncio.run(_watch(settings, watch, as_json, group or None, times))
    except KeyboardInterrupt:
        pass


async def _watch(settings, every: float, as_json: bool, groups, times) -> None:
    from rich.live import Live

    from pipeline.ops.status import cluster_status, render

    n = 0
    if as_json:
        while times is None or n < times:
            sys.stdout.buffer.write(orjson.dumps(await cluster_status(settings, groups)) + b"\n")
            sys.stdout.flush()
            n += 1
            if times is None or n < times:
                await asyncio.sleep(every)
        return
    with Live(console=out, auto_refresh=False) as live:
        while times is None or n < times:
            live.update(render(await cluster_status(settings, groups)), refresh=True)
            n += 1
            if times is None or n < times:
                await asyncio.sleep(every)


def _filters(since: Optional[str], until: Optional[str]):
    from pipeline.kafka.replay import parse_when

    return (parse_when(since) if since else None), (parse_when(until) if until else None)


_STAGE = typer.Option(None, "--stage", help="Only dead letters of this stage.")
_REASON = typer.Option(None, "--reason", help="Only those whose reason contains this (case-insensitive).")
_SINCE = typer.Option(None, "--since", help="Failed at or after: ISO 8601 or relative (30m, 2h, 7d).")
_UNTIL = typer.Option(None, "--until", help="Failed at or before: ISO 8601 or relative.")


def _check_stage(stage: Optional[str]) -> None:
    if stage and stage not in topics.STAGES:
        raise ConfigError(f"unknown stage {stage}; known: {', '.join(topics.STAGES)}")


@dlq_app.command("list")
def dlq_list(
    stage: Optional[str] = _STAGE, reason: Optional[str] = _REASON, since: Optional[str] = _SINCE,
    until: Optional[str] = _UNTIL,
    as_json: bool = typer.Option(False, "--json", help="One JSON line per dead letter (with its ref)."),
    limit: int = typer.Option(100, "--limit", "-n", help="Show at most this many (the newest)."),
) -> None:
    """The dead letters that match, oldest first: ref (PARTITION@OFFSET), time, stage, reason, origin."""
    from rich.table import Table

    from pipeline.ops.dlq import read_dead_letters

    _check_stage(stage)
    s, u = _filters(since, until)
    entries, problems = asyncio.run(read_dead_letters(state.settings(), stage=stage, reason=reason, since=s, until=u))
    for p in problems:
        say(p)
    shown = sorted(entries, key=lambda e: e.letter.failed_at)[-limit:] if limit > 0 else []
    if as_json:
        for e in shown:
            doc = e.letter.model_dump(mode="json", exclude={"payload"})
            sys.stdout.buffer.write(orjson.dumps({"ref": e.ref, **doc}) + b"\n")
        return
    t = Table(title=f"{len(entries)} dead letter(s) on {topics.DLQ}" + (f", the newest {len(shown)}" if
                                                                       len(shown) < len(entries) else ""),
              title_justify="left")
    for col in ("ref", "failed at", "stage", "reason", "origin"):
        t.add_column(col, overflow="fold")
    for e in shown:
        d = e.letter
        t.add_row(e.ref, d.failed_at.strftime("%Y-%m-%d %H:%M:%S"), d.stage, d.reason[:120], d.origin)
    out.print(t)


@dlq_app.command("show")
def dlq_show(
    refs: list[str] = typer.Argument(..., help="Dead letters as PARTITION@OFFSET (from `newsflow dlq list`)."),
    as_json: bool = typer.Option(False, "--json", help="The whole dead letter records, one JSON line each."),
    payload_chars: int = typer.Option(2000, "--payload-chars", help="Characters of the payload shown (0: all)."),
) -> None:
    """One or more dead letters in full: stage, reason, error, where it was read, and its payload."""
    from rich.panel import Panel
    from rich.text import Text

    from pipeline.ops.dlq import parse_ref, read_dead_letters

    for r in refs:
        parse_ref(r)  # a mistyped ref is one line before any connection
    entries, problems = asyncio.run(read_dead_letters(state.settings(), refs=refs))
    for e in entries:
        d = e.letter
        if as_json:
            sys.stdout.buffer.write(orjson.dumps({"ref": e.ref, **d.model_dump(mode="json")}) + b"\n")
            continue
        where = (f"{d.source_topic}/{d.source_partition}@{d.source_offset}" if d.source_topic else "-")
        head = Text()
        for k, v in (("stage", d.stage), ("reason", d.reason), ("error", d.error_type), ("origin", d.origin),
                     ("article id", d.article_id or "-"), ("failed at", d.failed_at.isoformat()),
                     ("received at", d.received_at.isoformat() if d.received_at else "-"), ("read from", where)):
            head.append(f"{k:>12}: ", style="bold").append(f"{v}\n")
        body = d.payload if payload_chars <= 0 else d.payload[:payload_chars]
        cut = len(d.payload) - len(body)
        head.append(f"{'payload':>12}: ", style="bold").append(
            f"{len(d.payload):,} chars ({d.payload_encoding})" + (", truncated at the dead-letter limit" if
                                                                   d.payload_truncated else "") + "\n")
        head.append(body, style="dim").append(f"\n… {cut:,} more chars (--payload-chars 0)" if cut else "")
        out.print(Panel(head, title=f"{topics.DLQ} {e.ref}", title_align="left"))
    for p in problems:
        say(p)
    if problems:
        raise typer.Exit(1)


@dlq_app.command("redrive")
def dlq_redrive(
    refs: Optional[list[str]] = typer.Argument(None, help="Dead letters as PARTITION@OFFSET; or filter with the options."),
    stage: Optional[str] = _STAGE, reason: Optional[str] = _REASON, since: Optional[str] = _SINCE,
    until: Optional[str] = _UNTIL,
    all_: bool = typer.Option(False, "--all", help="Every dead letter (needed when no ref or filter is given)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say where each would go."),
) -> None:
    """Send dead letters back after a fix, keeping their origin (same ids, same dedup decisions): parse failures
    to news.raw, later stages' to that stage's input topic."""
    from pipeline.ops.dlq import parse_ref, read_dead_letters, redrive

    _check_stage(stage)
    for r in refs or ():
        parse_ref(r)
    if not refs and not (stage or reason or since or until or all_):
        raise ConfigError("name the dead letters to re-drive (PARTITION@OFFSET...), filter them (--stage, --reason, "
                          "--since, --until) or pass --all")
    s, u = _filters(since, until)
    settings = state.settings()
    entries, problems = asyncio.run(read_dead_letters(settings, stage=stage, reason=reason, since=s, until=u,
                                                      refs=refs or None))
    for p in problems:
        say(p)
    sent, refused = asyncio.run(redrive(settings, entries, dry_run=dry_run))
    verb = "would re-drive" if dry_run else "re-drove"
    for e, topic in sent:
        say(f"{e.ref}: {verb} {e.letter.origin} ({e.letter.stage}) to {topic}")
    for e, why in refused:
        say(f"{e.ref}: not re-driven: {why}")
    by: dict[str, int] = {}
    for _, topic in sent:
        by[topic] = by.get(topic, 0) + 1
    err.print(f"{verb} {len(sent)} dead letter(s)" + (": " + ", ".join(f"{n} to {t}" for t, n in by.items()) if by
                                                    else "") + (f"; {len(refused)} refused" if refused else ""),
              markup=False, highlight=False)
    if refused or problems:
        raise typer.Exit(1)


@app.command()
def dashboard(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0: reachable from other hosts)."),
    port: int = typer.Option(8088, "--port", help="Port of the page."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between status polls of the broker."),
) -> None:
    """A live dashboard in the browser: throughput and lag per stage, dead letters with their payloads, the latest
    articles, the entities and stories trending in the last hour. From the broker alone."""
    from pipeline.ops.dashboard import serve

    if interval <= 0:
        raise ConfigError("--interval must be a positive number of seconds")
    settings = state.settings()
    settings.bootstrap_servers  # noqa: B018 - fail early and clearly without a broker
    try:
        asyncio.run(serve(settings, host, port, interval, on_ready=lambda url: err.print(
            f"dashboard on {url} (broker {settings.broker}); Ctrl-C stops", markup=False, highlight=False)))
    except OSError as exc:
        raise ConfigError(f"cannot serve the dashboard on {host}:{port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
