"""``newsflow process``: the whole chain in-process, no broker."""

from __future__ import annotations

import sys

import typer

from pipeline import topics
from pipeline.cli.context import out, read_paths, say, state

app = typer.Typer()


@app.command()
def process(
    paths: list[str] = typer.Argument(..., help="Files, directories (recursive), .json/.jsonl, or - for stdin."),
    pretty: bool = typer.Option(False, "--pretty", help="Readable panels instead of JSON lines."),
) -> None:
    """Run every stage in-process on the inputs, with no broker: one JSON line per input, in input order."""
    from pipeline.stages.chain import Pipeline
    from pipeline.connectors.sources.files import InputProblem
    from pipeline.cli.render import print_outcome
    from pipeline.kafka.wire import encode

    settings = state.settings()
    pipe = Pipeline(settings)
    items = read_paths(paths, settings)
    raws = [i for i in items if not isinstance(i, InputProblem)]
    outcomes = iter(pipe.process(raws))
    rejected = 0
    for item in items:
        if isinstance(item, InputProblem):
            say(f"{item.origin}: rejected: {item.reason}")
            rejected += 1
            continue
        o = next(outcomes)
        if o.topic == topics.DLQ:
            say(f"{o.record.origin}: rejected: {o.record.stage}: {o.record.reason}")
            rejected += 1
        elif pretty:
            print_outcome(out, o.topic, o.record)
        else:
            sys.stdout.buffer.write(encode(o.record) + b"\n")
            sys.stdout.flush()
    if rejected:
        raise typer.Exit(1)
