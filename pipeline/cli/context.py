"""What every command module shares: the global options (``State``), the two consoles, common defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from rich.console import Console

from pipeline.settings import Settings, load_settings

out = Console()
err = Console(stderr=True, soft_wrap=True)  # one line per message, whatever the terminal width

#: the CoNLL-2003 files of the evaluations and the bench corpus: ../shared/eval beside the checkout
DEFAULT_EVAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "eval"


class State:
    """The global options (``newsflow --config/--broker/--log-level COMMAND``), set by the app's callback."""

    config: Optional[Path] = None
    broker: Optional[str] = None
    log_level: Optional[str] = None

    def settings(self, **overrides) -> Settings:
        base = {"broker": self.broker, "log_level": self.log_level}
        base.update({k: v for k, v in overrides.items() if v is not None})
        return load_settings(self.config, **base)


state = State()


def say(line: str) -> None:
    """One plain line on stderr: paths and reasons printed as they are (no markup, no highlighting)."""
    err.print(line, markup=False, highlight=False)


def read_paths(paths: list[str], settings: Settings) -> list:
    """What ``read_inputs`` reads under ``paths`` (articles and input problems), after one line per kind of
    thing the directory walk skipped."""
    from pipeline.connectors.sources.files import Skipped, read_inputs

    skipped = Skipped()
    items = list(read_inputs(paths, max_bytes=settings.max_payload_bytes, skipped=skipped))
    for line in skipped.lines():
        say(line)
    return items
