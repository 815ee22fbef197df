"""``newsflow sink jsonl|postgres|webhook``: news.enriched into files, a database or a webhook, as a consumer group."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

import typer

from pipeline.cli.context import err, state
from pipeline.errors import ConfigError
from pipeline.settings import Settings

app = typer.Typer(help="Write news.enriched into files or a database, as a consumer group.", no_args_is_help=True)


@app.command("jsonl")
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


@app.command("postgres")
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


@app.command("webhook")
def sink_webhook(
    url: str = typer.Option(..., "--url", help="Where to POST each matching article (JSON)."),
    entity: Optional[list[str]] = typer.Option(None, "--entity", help="Match this entity (canonical name or text; repeatable)."),
    keyword: Optional[list[str]] = typer.Option(None, "--keyword", help="Match this keyword (repeatable)."),
    category: Optional[list[str]] = typer.Option(None, "--category", help="Match this category label (repeatable)."),
    country: Optional[list[str]] = typer.Option(None, "--country", help="Match this ISO country code (repeatable)."),
    retries: int = typer.Option(4, "--retries", help="Retries of a failed POST (connection error, 429, 5xx)."),
    dead_letters: Optional[Path] = typer.Option(None, "--dead-letters", help="The sink's own dead letters, JSONL "
                                                "(default DATA_DIR/webhook-dlq.jsonl)."),
    group: str = typer.Option("newsflow-sink-webhook", "--group", help="Consumer group."),
    idle_timeout: Optional[float] = typer.Option(None, "--idle-timeout", help="Stop after this many seconds without a record."),
) -> None:
    """POST the articles of news.enriched that match (entities, keywords, categories, countries) to a webhook,
    with retries; what still fails goes to the sink's own dead letters (issue 21)."""
    from pipeline.connectors.sinks.webhook import Rules, WebhookSink

    settings = state.settings()
    rules = Rules(list(entity or []), list(keyword or []), list(category or []), list(country or []))
    sink = WebhookSink(url, rules, retries=retries,
                       dead_letter_path=dead_letters or settings.data_dir / "webhook-dlq.jsonl")
    _run_sink(settings, sink, group, idle_timeout)
    err.print(f"webhook: {sink.posted} posted, {sink.skipped} not matching, {sink.dead} to {sink.dead_letter_path}",
              markup=False, highlight=False)


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
