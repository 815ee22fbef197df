"""``newsflow process``: the whole chain in-process, no broker."""

from __future__ import annotations

import sys

import typer

from pipeline import topics
from pipeline.cli.context import err, out, state

app = typer.Typer()


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
