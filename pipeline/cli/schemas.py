"""``newsflow schemas export|baseline``: the JSON Schema files of every topic's records."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli.context import err

app = typer.Typer(help="The JSON Schema files of every topic's records.", no_args_is_help=True)


@app.command("export")
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


@app.command("baseline")
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
