"""Memory of a process and of the processes it started (a worker and its NER children), from /proc."""

from __future__ import annotations

from pathlib import Path


def status_mb(pid: int, key: str = "VmRSS") -> float | None:
    """A ``/proc/PID/status`` memory line (VmRSS, VmHWM, ...) in MB; None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, its children's children included."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = [int(k) for k in (task / "children").read_text().split()]
                out += kids
                todo += kids
        except OSError:
            continue
    return out


def children_mb(pid: int, key: str = "VmRSS") -> float:
    """The sum of ``key`` over the processes ``pid`` started."""
    return round(sum(status_mb(c, key) or 0.0 for c in descendants(pid)), 1)
