"""``newsflow run`` as a user runs it (issue 18): its exit status agrees with ``process`` and ``ingest``, each run
has its own state directory, and nothing it started outlives it, even when it is killed with SIGKILL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SEED
from tests.integration.test_tag_process_orphans import _alive  # a live process, not a zombie (/proc)

pytestmark = pytest.mark.integration


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    return {**env, "PYTHONPATH": str(SEED.parents[2]), "NEWSFLOW_TAG_PROCESSES": "1"}


def _run(*args, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", "run", "--local-broker", "embedded", *args],
                          capture_output=True, cwd=cwd, env=_env(), timeout=timeout)


def test_run_exits_1_when_an_input_was_rejected_and_names_its_own_state_directory(tmp_path):
    (tmp_path / "good.txt").write_bytes(SEED.read_bytes())
    r = _run("nosuch/", "good.txt", "--exit-when-done", "--timeout", "180", cwd=tmp_path)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert "2 input(s): 1 enriched, 0 duplicate(s), 1 rejected" in err and "Traceback" not in err
    m = re.search(r"this run's state and log: (\S+);", err)
    assert m, err
    run_dir = tmp_path / m.group(1)
    assert run_dir.parent == tmp_path / ".newsflow" / "runs" and (run_dir / "worker.log").is_file()
    assert not (tmp_path / ".newsflow" / "worker.log").exists()


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for k in kids:
                if k not in found:
                    found.add(k)
                    todo.append(k)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_kill_9_of_run_takes_the_broker_the_worker_and_its_ner_processes_with_it(tmp_path):
    (tmp_path / "good.txt").write_bytes(SEED.read_bytes())
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--local-broker", "embedded", "good.txt"],
                            cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        kids: set[int] = set()
        while time.monotonic() < deadline:  # the broker, the worker and the worker's NER process
            kids = _descendants(proc.pid)
            if len(kids) >= 3:
                break
            time.sleep(1)
        assert len(kids) >= 3, kids
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and any(_alive(k) for k in kids):
        time.sleep(0.5)
    left = [k for k in kids if _alive(k)]
    for k in left:
        os.kill(k, signal.SIGKILL)
    assert not left, f"still running after `run` was killed: {left}"
