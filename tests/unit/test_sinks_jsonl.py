"""JSONL sink (issue 7): rotation, complete files, recovery of a crashed file."""

import orjson

from pipeline.connectors.sinks.jsonl import JsonlSink
from pipeline.connectors.sinks.postgres import version_key
from schemas import EnrichedArticle


def art(i: int) -> EnrichedArticle:
    return EnrichedArticle(id=f"id{i:03d}", origin=f"t/{i}", received_at="2025-01-01T00:00:00Z", raw_format="text",
                           title=f"Title {i}", body="word " * 40, pipeline_version="0.1.0")


def test_rotates_by_size_and_keeps_every_record_once(tmp_path):
    sink = JsonlSink(tmp_path, max_bytes=2000)
    sink.write([art(i) for i in range(10)])
    sink.flush()
    assert any(p.suffix == ".part" for p in tmp_path.iterdir())  # the open file is not yet "complete"
    sink.write([art(i) for i in range(10, 15)])
    sink.close()
    files = sink.files()
    assert len(files) > 2 and not list(tmp_path.glob("*.part"))
    assert all(f.stat().st_size <= 2000 for f in files)
    ids = [orjson.loads(line)["id"] for f in files for line in f.read_bytes().splitlines()]
    assert ids == [f"id{i:03d}" for i in range(15)]
    EnrichedArticle.model_validate(orjson.loads(files[0].read_bytes().splitlines()[0]))


def test_keep_prunes_old_files_and_part_files_are_recovered(tmp_path):
    sink = JsonlSink(tmp_path, max_bytes=1500, keep=2)
    sink.write([art(i) for i in range(12)])
    sink.close()
    assert len(sink.files()) == 2
    crashed = JsonlSink(tmp_path, prefix="x")
    crashed.write([art(1)])
    crashed.flush()  # "crash": never closed
    again = JsonlSink(tmp_path, prefix="x")
    assert len(again.files()) == 1 and not list(tmp_path.glob("x-*.part"))


def test_version_key_orders_numerically():
    assert version_key("0.10.0") > version_key("0.9.1")
    assert version_key("1.2.0rc1") == [1, 2, 0] and version_key("") == [0]


def test_a_directory_that_is_a_file_is_one_line(tmp_path):
    """Issue 18: `sink jsonl --dir` pointing at a file (or under one) is a ConfigError, not a traceback."""
    import pytest

    from pipeline.errors import ConfigError

    f = tmp_path / "out.txt"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        JsonlSink(f)
    with pytest.raises(ConfigError, match="cannot create the sink directory"):
        JsonlSink(f / "sub")
