"""A worker killed with SIGKILL takes its NER processes with it (pipeline/stages/tag/process.py): nothing is left
holding a model in memory after a crash (the kill -9 chaos test left two orphans per kill before)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration

PARENT = r"""
import asyncio, sys
from pipeline.settings import Settings
from pipeline.stages.tag import process as tag_process
from schemas import Article

async def main():
    ex = tag_process.make_executor(Settings(tag_processes=2))
    art = Article(id="a", origin="o", received_at="2025-01-01T00:00:00Z", raw_format="text",
                  title="Talks", body="Vladimir Putin met Xi Jinping in Moscow.")
    out = await tag_process.tag_batch(asyncio.get_running_loop(), ex, [art, art], 2)
    assert len(out) == 2
    print(" ".join(str(p) for p in ex._processes), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except OSError:
        return False


def test_ner_processes_exit_when_the_worker_is_killed():
    proc = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        line = proc.stdout.readline()
        children = [int(p) for p in line.split()]
        assert len(children) == 2 and all(_alive(c) for c in children), line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 20
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [c for c in children if _alive(c)]
    for c in left:
        os.kill(c, signal.SIGKILL)
    assert not left, f"NER processes {left} outlived their killed worker"
