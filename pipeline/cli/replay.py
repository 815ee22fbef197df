"""``newsflow replay``: re-run records of a stage's input topic, by offset or time range."""

from __future__ import annotations

import asyncio
import time
from typing import Optional

import typer

from pipeline import topics
from pipeline.cli.context import err, state
from pipeline.errors import ConfigError

app = typer.Typer()


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
