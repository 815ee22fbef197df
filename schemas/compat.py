"""Backward compatibility of the output contract (issue 7).

Every released ``SCHEMA_VERSION`` has a baseline: ``schemas/json/baseline/v<N>/<topic>.schema.json``,
the exported schemas as they were when that version was fixed. ``breaking_changes(baseline, current)``
lists what a consumer written against the baseline would trip over:

- a field (of a record or of a nested object) removed,
- a field's type changed (its JSON Schema shape, titles/descriptions/defaults aside),
- a field that was always present (``required``) becoming optional,
- a nested object type removed.

Adding optional fields and nested types is compatible. A breaking change needs a new
``SCHEMA_VERSION`` and a new baseline (``newsflow schemas baseline``); the test
``tests/unit/test_schema_compat.py`` fails otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from schemas.export import DEFAULT_DIR, render
from schemas.records import SCHEMA_VERSION, TOPIC_RECORDS

BASELINE_DIR = DEFAULT_DIR / "baseline"
_IGNORED = {"title", "description", "default", "examples", "$comment"}


def baseline_dir(version: int = SCHEMA_VERSION) -> Path:
    return BASELINE_DIR / f"v{version}"


def shape(schema: Any) -> Any:
    """A schema with the documentation keys dropped: what a reader's code depends on."""
    if isinstance(schema, dict):
        return {k: shape(v) for k, v in sorted(schema.items()) if k not in _IGNORED}
    if isinstance(schema, list):
        return [shape(v) for v in schema]
    return schema


def _objects(schema: dict) -> dict[str, dict]:
    """The record itself ("") and every nested object type ($defs), by name."""
    out = {"": schema}
    out.update(schema.get("$defs", {}))
    return out


def breaking_changes(old: dict, new: dict) -> list[str]:
    problems = []
    old_objs, new_objs = _objects(old), _objects(new)
    for name, o in old_objs.items():
        label = name or "record"
        n = new_objs.get(name)
        if n is None:
            problems.append(f"{label}: type removed")
            continue
        op, np_ = o.get("properties", {}), n.get("properties", {})
        for field, fs in op.items():
            if field not in np_:
                problems.append(f"{label}.{field}: field removed")
            elif shape(fs) != shape(np_[field]):
                problems.append(f"{label}.{field}: type changed from {orjson.dumps(shape(fs)).decode()} "
                                f"to {orjson.dumps(shape(np_[field])).decode()}")
        for field in set(o.get("required", [])) - set(n.get("required", [])):
            if field in np_:
                problems.append(f"{label}.{field}: was required, now optional")
    return problems


def check_against_baseline(version: int = SCHEMA_VERSION) -> dict[str, list[str]]:
    """Topic -> breaking changes of the current models against the baseline of ``version``."""
    base = baseline_dir(version)
    out = {}
    for topic in TOPIC_RECORDS:
        path = base / f"{topic}.schema.json"
        if not path.is_file():
            out[topic] = [f"no baseline {path} for schema_version {version}: run `newsflow schemas baseline`"]
            continue
        out[topic] = breaking_changes(orjson.loads(path.read_bytes()), orjson.loads(render(topic)))
    return {t: p for t, p in out.items() if p}


def write_baseline(version: int = SCHEMA_VERSION, overwrite: bool = False) -> list[Path]:
    base = baseline_dir(version)
    base.mkdir(parents=True, exist_ok=True)
    written = []
    for topic in TOPIC_RECORDS:
        path = base / f"{topic}.schema.json"
        if path.exists() and not overwrite:
            continue
        path.write_bytes(render(topic))
        written.append(path)
    return written
