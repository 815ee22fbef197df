"""Corrections to faust-streaming, one module each, installed through Faust's own extension points.

Nothing here replaces a method on a Faust class for the whole process. The worker's app is created with
two subclasses that Faust lets an app choose:

- a transport (``transport.py``), registered for the ``newsflow://`` broker URL through Faust's
  ``faust.transports`` entry point (pyproject.toml); it is Faust's aiokafka transport with a consumer
  and a consumer thread that carry the fixes below;
- a table manager (``recovery_hold.TableManager``, Faust's ``TableManager`` setting), whose recovery
  service carries the recovery fix.

The fixes, each named after what it corrects and with the upstream issue it works around:

``fetch_wait``     Faust creates its aiokafka consumer with ``fetch_max_wait_ms=1500`` and has no setting
                   for it (no upstream issue found); the ``fetch_max_wait_ms`` setting sets it.
``ack_guard``      an acknowledgement that arrives after a rebalance, for a record fetched before it,
                   could commit past records that were never processed (issue 8; upstream
                   faust-streaming/faust#221 and #312 describe the same class of fault).
``recovery_hold``  after restoring a table from its changelog, Faust dropped records that its own seek
                   was meant to fetch again (issue 8; upstream faust-streaming/faust#216, fixed there
                   only for apps without tables, and robinhood/faust#115).

The subclasses override methods that are Faust internals, so the worker refuses to start on a
faust-streaming version they were not tested with (``check_version``), and
``tests/unit/test_faust_fixes.py`` checks the signatures of the methods they override.
"""

from __future__ import annotations

from pipeline.errors import ConfigError

#: faust-streaming versions these fixes were written and tested against (pyproject.toml pins it)
TESTED_FAUST_VERSIONS = ("0.15.3",)

#: the broker URL scheme of the transport that carries the fixes
SCHEME = "newsflow"


def check_version(version: str | None = None) -> None:
    """Refuse, in one line, a faust-streaming version the fixes were not tested with."""
    if version is None:
        import faust

        version = faust.__version__
    if version not in TESTED_FAUST_VERSIONS:
        raise ConfigError(
            f"faust-streaming {version} is installed, but newsflow's Faust fixes (pipeline/faust_fixes) were "
            f"tested with {', '.join(TESTED_FAUST_VERSIONS)} only: install that version "
            f"(pip install faust-streaming=={TESTED_FAUST_VERSIONS[-1]})")


def app_options(bootstrap_servers: list[str]) -> dict:
    """The ``faust.App`` options that install every fix: the transport and the table manager."""
    from pipeline.faust_fixes.recovery_hold import TableManager

    check_version()
    return {"broker": [f"{SCHEME}://{s}" for s in bootstrap_servers], "TableManager": TableManager}
