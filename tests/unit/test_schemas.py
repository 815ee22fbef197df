import json

import jsonschema
import orjson

from pipeline.stages.chain import Pipeline
from pipeline.kafka.wire import encode
from schemas import TOPIC_RECORDS, RawArticle
from schemas.export import DEFAULT_DIR, path_for, render, stale


def test_every_topic_has_a_schema_file_matching_the_model():
    assert stale() == [], "run `newsflow schemas export` and commit schemas/json"
    for topic in TOPIC_RECORDS:
        assert path_for(DEFAULT_DIR, topic).read_bytes() == render(topic)


def test_real_records_validate_against_the_exported_schemas(seed_bytes):
    outcomes = Pipeline().process([
        RawArticle.from_bytes(seed_bytes, "a.txt"), RawArticle.from_bytes(seed_bytes, "b.txt"),
        RawArticle.from_bytes(b"\x00\x01\x02\x03 garbage \xff", "c.bin"),
    ])
    assert [o.topic for o in outcomes] == ["news.enriched", "news.duplicates", "news.dlq"]
    for o in outcomes:
        schema = json.loads(path_for(DEFAULT_DIR, o.topic).read_text())
        jsonschema.validate(orjson.loads(encode(o.record)), schema)
