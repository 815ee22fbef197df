"""The CLI as a user runs it: real processes, no broker."""

import subprocess
import sys

import orjson

from tests.conftest import SEED


def newsflow(*args, input: bytes | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, input=input, cwd=cwd,
                          timeout=300)


def test_process_prints_one_line_per_input_and_reports_rejects(tmp_path):
    (tmp_path / "copy.txt").write_bytes(SEED.read_bytes())
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bad.json").write_bytes(b'{"title": ')
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02\x03 not text \xff\xfe\x00")
    r = newsflow("process", str(SEED), str(tmp_path / "copy.txt"), str(tmp_path / "empty.txt"),
                 str(tmp_path / "bad.json"), str(tmp_path / "blob.txt"), str(tmp_path / "missing.txt"))
    assert r.returncode == 1
    lines = [orjson.loads(ln) for ln in r.stdout.splitlines()]
    assert len(lines) == 2
    first, dup = lines
    assert first["duplicate_of"] is None and first["source"] == "Reuters"
    assert first["published_at"].startswith("2025-02-14")
    for field in ("id", "schema_version", "origin", "url", "title", "body", "categories", "language", "corrections",
                  "entities", "keywords", "word_count", "timings", "duplicate_of", "source_categories"):
        assert field in first
    assert dup["duplicate_of"] == first["id"]
    err = r.stderr.decode()
    assert "Traceback" not in err
    for name, reason in (("empty.txt", "empty input"), ("bad.json", "invalid JSON"), ("blob.txt", "binary data"),
                         ("missing.txt", "no such file")):
        assert name in err and reason in err, err


def test_process_stdin_and_oversize(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 1000)
    r = newsflow("process", "-", str(big), input=b"Headline here\n\nA body about the economy and markets.",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    env_limited = subprocess.run([sys.executable, "-m", "pipeline", "process", str(big)], capture_output=True,
                                 env={**__import__("os").environ, "NEWSFLOW_MAX_PAYLOAD_BYTES": "1000"}, timeout=120)
    assert env_limited.returncode == 1
    assert b"over the limit" in env_limited.stderr and b"Traceback" not in env_limited.stderr


def test_bad_settings_are_one_line():
    r = subprocess.run([sys.executable, "-m", "pipeline", "--broker", "nonsense", "tail"], capture_output=True,
                       timeout=60)
    assert r.returncode == 2
    assert b"not host:port" in r.stderr and b"Traceback" not in r.stderr


def test_every_command_has_help():
    for cmd in ("run", "worker", "ingest", "tail", "process", "schemas"):
        r = newsflow(cmd, "--help")
        assert r.returncode == 0 and b"Usage" in r.stdout


def test_operator_mistakes_are_one_line_each(tmp_path):
    """Issue 18: a broken TOML file, a bad log level, an unknown or unavailable store, a misspelt variable."""
    import os

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "newsflow.toml").write_text("partitions = [\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")}
    cases = [
        (["topics"], {}, broken, "newsflow.toml is not valid TOML"),
        (["--log-level", "LOUD", "topics"], {}, tmp_path, "log level 'LOUD' is not one of DEBUG, INFO"),
        (["topics"], {"NEWSFLOW_STORE": "redis://"}, tmp_path, "table store 'redis://' is not memory:// or rocksdb://"),
        (["topics"], {"NEWSFLOW_PARTITONS": "8"}, tmp_path, "unknown environment variable(s) NEWSFLOW_PARTITONS"),
    ]
    import importlib.util

    if importlib.util.find_spec("rocksdict") is None:
        cases.append((["worker"], {"NEWSFLOW_STORE": "rocksdb://"}, tmp_path, "needs the rocksdb extra"))
    for args, extra, cwd, message in cases:
        r = subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, cwd=cwd,
                           env={**env, "PYTHONPATH": str(SEED.parents[2]), **extra}, timeout=60)
        err = r.stderr.decode()
        assert r.returncode == 2 and message in err and "Traceback" not in err, (args, extra, err)
        assert len(err.strip().splitlines()) == 1, err
