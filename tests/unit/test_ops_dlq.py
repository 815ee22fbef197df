"""Issue 21: where a re-driven dead letter goes and with what key and record; filters and refs."""

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from pipeline import topics
from pipeline.errors import ConfigError
from pipeline.kafka.wire import decode, encode
from pipeline.ops.dlq import matches, parse_ref, redrive_record
from pipeline.stages.chain import Pipeline, dead_letter
from pipeline.stages.dedup.stage import partition_key
from pipeline.stages.parse import article_id
from pipeline.errors import StageError
from schemas import Article, RawArticle

BODY = b"Port strike ends\n\nDock workers in Rotterdam returned to work on Tuesday after a week of strikes over pay."


def test_parse_failure_goes_back_to_raw_with_its_origin_so_the_id_is_the_same():
    raw = RawArticle.from_bytes(BODY, "feeds/strike.txt")
    dl = dead_letter(StageError("parse", raw.origin, "injected"), raw.payload_bytes(), received_at=raw.received_at,
                     source_topic=topics.RAW, source_partition=0, source_offset=7)
    topic, key, value = redrive_record(dl)
    again = decode(value, RawArticle)
    assert (topic, key) == (topics.RAW, b"feeds/strike.txt") and again.origin == raw.origin
    assert Pipeline().parse(again).id == article_id(raw.origin, raw.payload_bytes()) == Pipeline().parse(raw).id


def test_later_stage_failure_goes_back_to_that_stage_input_with_its_key():
    art = Pipeline().parse(RawArticle.from_bytes(BODY, "feeds/strike.txt"))
    for stage, src, key in (("enrich", topics.TAGGED, art.id.encode()), ("dedup", topics.PARSED, partition_key(art))):
        dl = dead_letter(StageError(stage, art.origin, "boom", art.id), encode(art), source_topic=src)
        topic, k, value = redrive_record(dl)
        assert (topic, k) == (src, key)
        assert decode(value, Article).id == art.id


def test_what_cannot_be_redriven_says_why():
    art = Pipeline().parse(RawArticle.from_bytes(BODY, "feeds/strike.txt"))
    cut = dead_letter(StageError("parse", "big.txt", "too large"), b"x" * 300_000)
    with pytest.raises(ValueError, match="cut at the dead-letter size limit"):
        redrive_record(cut)
    not_article = dead_letter(StageError("tag", art.origin, "boom", art.id), b"not json", source_topic=topics.NORMALIZED)
    with pytest.raises(ValueError, match="not the article stage tag was given"):
        redrive_record(not_article)


def test_filters_and_refs():
    dl = dead_letter(StageError("tag", "o", "Model crashed: CUDA"), b"{}")
    now = datetime.now(timezone.utc)
    assert matches(dl, "tag", "model CRASHED", now - timedelta(minutes=1), now + timedelta(minutes=1))
    assert not matches(dl, "parse", None, None, None)
    assert not matches(dl, None, "timeout", None, None)
    assert not matches(dl, None, None, now + timedelta(minutes=1), None)
    assert parse_ref("3@1200") == (3, 1200)
    for bad in ("3", "a@1", "1@", "@2"):
        with pytest.raises(ConfigError, match="PARTITION@OFFSET"):
            parse_ref(bad)
    assert orjson.loads(encode(dl))["stage"] == "tag"


def test_operator_mistakes_are_one_line_and_exit_2():
    import subprocess
    import sys

    for args, says in ((["dlq", "show", "nope"], "dead letter 'nope' is not PARTITION@OFFSET"),
                       (["dlq", "redrive"], "name the dead letters to re-drive"),
                       (["dlq", "list", "--stage", "tagg"], "unknown stage tagg"),
                       (["status", "--watch", "0"], "--watch must be a positive number"),
                       (["dashboard", "--interval", "-1"], "--interval must be a positive number")):
        done = subprocess.run([sys.executable, "-m", "pipeline", "--broker", "127.0.0.1:1", *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("newsflow: error: ")
        assert says in done.stderr and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
