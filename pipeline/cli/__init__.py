"""The ``newsflow`` command line: the typer app, its global options, the entry point.

One module per command group, each command a thin call into the packages:
``process`` (process), ``stream`` (worker, topics, ingest, tail, run), ``replay`` (replay), ``bench`` (bench,
soak), ``schemas`` (schemas export/baseline), ``eval`` (eval dedup/enrich/typos/entities), ``sinks`` (sink
jsonl/postgres), ``broker`` (broker kafka/embedded), ``ops`` (status, dlq, dashboard); ``context`` holds what they share (the global options, the consoles), ``render`` the
terminal rendering of records.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Optional

import typer

from pipeline.cli import bench, broker, ops, process, replay, schemas, sinks, stream
from pipeline.cli import eval as eval_cmds
from pipeline.cli.context import State, err, out, state
from pipeline.errors import NewsflowError
from pipeline.worker.supervisor import sigterm_as_interrupt

__all__ = ["State", "app", "entrypoint", "err", "main", "out", "state"]

app = typer.Typer(
    help="newsflow: streaming news processing on Kafka. Raw articles in; clean, de-duplicated, tagged and "
    "enriched articles out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML settings file (default ./newsflow.toml)."),
    broker: Optional[str] = typer.Option(None, "--broker", "-b", help="Kafka bootstrap servers HOST:PORT[,HOST:PORT]; env NEWSFLOW_BROKER."),
    log_level: Optional[str] = typer.Option(None, "--log-level", help="Worker log level (WARNING)."),
) -> None:
    state.config, state.broker, state.log_level = config, broker, log_level


# the top-level commands, in the order `newsflow --help` lists them, then the groups
for _commands in (process, stream, replay, bench, ops):
    app.add_typer(_commands.app)
app.add_typer(ops.dlq_app, name="dlq")
app.add_typer(schemas.app, name="schemas")
app.add_typer(eval_cmds.app, name="eval")
app.add_typer(sinks.app, name="sink")
app.add_typer(broker.app, name="broker")


def entrypoint() -> None:
    # SIGTERM takes Ctrl-C's clean path (the processes a command started are stopped); `worker` installs Faust's own.
    signal.signal(signal.SIGTERM, sigterm_as_interrupt)
    try:
        app()
    except NewsflowError as exc:
        err.print(f"newsflow: error: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
