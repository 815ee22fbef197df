"""``newsflow broker kafka|embedded``: start a local broker, print its bootstrap address, run until stopped."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from pipeline.cli.context import err, out, state

app = typer.Typer(help="Start a local broker for newsflow (or any Kafka client) and keep it running.")


def _serve(kind: str, nodes: int, data_dir: Optional[Path]) -> None:
    from pipeline.brokers import local_broker

    settings = state.settings()
    broker = local_broker(kind, settings.data_dir, nodes=nodes, say=lambda msg: err.print(f"[dim]{msg}[/]"),
                          kafka_dir=data_dir)
    try:
        broker.start()
        if kind == "kafka":
            err.print(f"Apache Kafka {broker.version}, {nodes} node(s), data in {broker.data_dir} (kept), "
                      f"logs in {broker.data_dir}/node-*/server.log")
        else:
            err.print("embedded broker (Tansu): memory-only, everything is lost when it stops")
        out.print(broker.address, markup=False, highlight=False)  # stdout: the bootstrap address, for scripts
        err.print(f"[dim]use it: newsflow --broker {broker.address} run | worker | ingest ...; Ctrl-C stops[/]")
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        err.print("[dim]stopping…[/]")
    finally:
        broker.stop()


@app.command("kafka")
def kafka(
    nodes: int = typer.Option(1, "--nodes", help="1 or 3 combined broker+controller nodes (KRaft)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the cluster keeps its data "
                                            "(default DATA_DIR/kafka); started again there, it keeps its topics."),
) -> None:
    """A local Apache Kafka from Maven Central's jars (fetched once), on free loopback ports."""
    _serve("kafka", nodes, data_dir)


@app.command("embedded")
def embedded() -> None:
    """The embedded, memory-only broker (Tansu) on a free loopback port."""
    _serve("embedded", 1, None)
