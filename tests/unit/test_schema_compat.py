"""The output contract stays backward compatible unless SCHEMA_VERSION is bumped (issue 7)."""

import copy

import orjson

from schemas.compat import baseline_dir, breaking_changes, check_against_baseline
from schemas.export import render
from schemas.records import SCHEMA_VERSION, TOPIC_RECORDS


def test_current_models_are_compatible_with_the_baseline_of_their_schema_version():
    bad = check_against_baseline()
    assert bad == {}, ("breaking change without a SCHEMA_VERSION bump (or no baseline for the new version; "
                       f"`newsflow schemas baseline`): {bad}")


def test_every_baseline_names_its_version():
    for topic in TOPIC_RECORDS:
        schema = orjson.loads((baseline_dir() / f"{topic}.schema.json").read_bytes())
        assert schema["x-schema-version"] == SCHEMA_VERSION
        if "schema_version" in schema["properties"]:
            assert schema["properties"]["schema_version"]["default"] == SCHEMA_VERSION


def current(topic="news.enriched") -> dict:
    return orjson.loads(render(topic))


def test_removed_retyped_and_loosened_fields_are_breaking_added_fields_are_not():
    old = current()
    assert breaking_changes(old, copy.deepcopy(old)) == []

    added = copy.deepcopy(old)
    added["properties"]["new_optional"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    added["$defs"]["Entity"]["properties"]["wikidata_id"] = {"type": "string", "default": ""}
    added["properties"]["title"]["description"] = "reworded docs are fine"
    assert breaking_changes(old, added) == []

    removed = copy.deepcopy(old)
    del removed["properties"]["keywords"]
    assert breaking_changes(old, removed) == ["record.keywords: field removed"]

    retyped = copy.deepcopy(old)
    retyped["$defs"]["Entity"]["properties"]["salience"] = {"type": "string"}
    assert [p.split(":")[0] for p in breaking_changes(old, retyped)] == ["Entity.salience"]

    nested_gone = copy.deepcopy(old)
    del nested_gone["$defs"]["Category"]
    assert "Category: type removed" in breaking_changes(old, nested_gone)

    loosened = copy.deepcopy(old)
    loosened["required"] = [r for r in loosened["required"] if r != "id"]
    assert breaking_changes(old, loosened) == ["record.id: was required, now optional"]
