"""Fault injection for the reliability tests (issue 8), and the worker's last line of defence.

``NEWSFLOW_FAULT_INJECT="tag:boom,parse:kaboom"`` makes the named stage's agent raise a plain
``RuntimeError`` (not a ``StageError``) for every article whose text contains the marker. The error is
raised in the agent body, outside the stage wrapper, so it exercises the path every unexpected bug
takes: the article must go to ``news.dlq`` with the stage, the error and its input, and the stream
must go on. Empty (the default) disables it; production never sets it.
"""

from __future__ import annotations


class InjectedFault(RuntimeError):
    """Raised on purpose by ``NEWSFLOW_FAULT_INJECT``."""


def parse_spec(spec: str | None) -> dict[str, list[str]]:
    """``"tag:boom,parse:x"`` -> ``{"tag": ["boom"], "parse": ["x"]}``."""
    out: dict[str, list[str]] = {}
    for part in (spec or "").split(","):
        stage, sep, marker = part.strip().partition(":")
        if sep and stage and marker:
            out.setdefault(stage.strip(), []).append(marker)
    return out


class FaultInjector:
    def __init__(self, spec: str | None):
        self.markers = parse_spec(spec)

    def __bool__(self) -> bool:
        return bool(self.markers)

    def check(self, stage: str, *texts: str | bytes | None) -> None:
        markers = self.markers.get(stage)
        if not markers:
            return
        for t in texts:
            if t is None:
                continue
            s = t.decode("utf-8", "replace") if isinstance(t, (bytes, bytearray)) else t
            for m in markers:
                if m in s:
                    raise InjectedFault(f"injected fault in stage {stage} (marker {m!r})")
