"""Export the JSON Schema of every topic's record to ``schemas/json/<topic>.schema.json``."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.records import SCHEMA_VERSION, TOPIC_RECORDS

DEFAULT_DIR = Path(__file__).parent / "json"


def schema_for(topic: str) -> dict:
    model = TOPIC_RECORDS[topic]
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = f"https://newsflow.dev/schemas/{topic}.schema.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["x-topic"] = topic
    schema["x-schema-version"] = SCHEMA_VERSION
    return schema


def render(topic: str) -> bytes:
    return orjson.dumps(schema_for(topic), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def path_for(directory: Path, topic: str) -> Path:
    return directory / f"{topic}.schema.json"


def export(directory: Path = DEFAULT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic in TOPIC_RECORDS:
        p = path_for(directory, topic)
        p.write_bytes(render(topic))
        written.append(p)
    return written


def stale(directory: Path = DEFAULT_DIR) -> list[str]:
    """Topics whose schema file is missing or differs from the model."""
    return [t for t in TOPIC_RECORDS if not path_for(directory, t).is_file() or path_for(directory, t).read_bytes() != render(t)]
