"""Hostile strings (SQL injection, path traversal, shell and template syntax) as titles, bodies and origins
go through the real pipeline into a real PostgreSQL table and come out stored as text, nothing else:
the tables are intact, no file appears, nothing is executed (issue 8, "Security")."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pipeline import topics
from pipeline.kafka.clients import publish_raw
from pipeline.kafka.admin import ensure_topics
from schemas import RawArticle
from tests.chaos.ground_truth import GroundTruthTable, TerminalReader, account, sink_rows
from tests.services import postgres_or_skip
from tests.conftest import settings_for

pytestmark = pytest.mark.integration


def hostile(marker: str) -> list[str]:
    return [
        "'; DROP TABLE {t}; --",
        "Robert'); DELETE FROM {t} WHERE ('1'='1",
        "1 OR 1=1; UPDATE {t} SET title = 'owned'",
        "$$; TRUNCATE {t}; $$",
        f"../../../../tmp/{marker}",
        f"..\\..\\..\\windows\\{marker}",
        f"/tmp/{marker}/../../etc/passwd",
        f"$(touch /tmp/{marker}) `touch /tmp/{marker}`",
        "{{7*7}} ${7*7} %s %(x)s \\x00",
        "<script>alert(1)</script><img src=x onerror=alert(2)>",
        f"__import__('os').system('touch /tmp/{marker}')",
    ]


async def test_injection_and_traversal_strings_are_stored_as_text(broker, make_worker, tmp_path):
    conn = postgres_or_skip()
    table = GroundTruthTable(conn, "security_sink")
    canary = GroundTruthTable(conn, "security_canary")
    canary.upsert([{"id": "canary", "origin": "canary", "title": "still here", "body": "b"}])
    marker = f"newsflow-pwned-{uuid.uuid4().hex[:8]}"
    strings = [s.replace("{t}", "security_canary") for s in hostile(marker)]
    inputs = []
    # distinct stories (near-identical templates would rightly be caught as near-duplicates)
    topics_ = ["the harbour dredging budget", "a new cycle lane on Mill Road", "school meal prices",
               "flood defences along the river", "the library's opening hours", "parking fines near the station",
               "a heritage grant for the old mill", "recycling collections every fortnight",
               "street lighting in the north ward", "the market square redesign", "bus shelter repairs",
               "a tree planting scheme in the park"]
    for i, s in enumerate(strings):
        story = topics_[i % len(topics_)]
        text = (f"Council news {i} {s}\n\nThe council debated {story} on Monday, and members voted "
                f"{10 + i} to {3 + i % 4}. Someone wrote: {s} and left. Officers will report on {story} in spring.")
        inputs.append(RawArticle.from_bytes(text.encode(), origin=f"{s}#{i}"))
    settings = settings_for(broker)
    await ensure_topics(settings)
    worker = make_worker("newsflow").start()
    await publish_raw(settings, inputs)
    reader = await TerminalReader(settings).start()
    try:
        assert await reader.until({r.origin for r in inputs}, timeout=240, settle=1), worker.log()[-3000:]
    finally:
        await reader.stop()
    rows = sink_rows(table, reader.records[topics.ENRICHED])
    acc = account([r.origin for r in inputs], rows, reader)
    assert acc.ok and acc.sink_rows == len(inputs), acc.summary()

    # stored as text, byte for byte: origins exactly as sent; titles and bodies as the pipeline wrote them
    with conn.cursor() as cur:
        cur.execute("SELECT origin, title, body, record->>'title', record->>'body' FROM security_sink")
        stored = cur.fetchall()
        assert sorted(o for o, *_ in stored) == sorted(r.origin for r in inputs)
        assert all(t == rt and b == rb for _, t, b, rt, rb in stored)
        assert sum("DROP TABLE security_canary" in b for _, _, b, _, _ in stored) == 1
        cur.execute("SELECT id, title FROM security_canary")
        assert cur.fetchall() == [("canary", "still here")]
        cur.execute("SELECT count(*) FROM security_sink WHERE title = 'owned'")
        assert cur.fetchone()[0] == 0
    # nothing was created on disk from the strings
    assert not Path(f"/tmp/{marker}").exists()
    assert not list(Path("/tmp").glob(f"{marker}*"))
    assert not [p for p in tmp_path.rglob("*") if marker in p.name]
    assert worker.alive()
    table.drop()
    canary.drop()
    conn.close()
