"""Downstream consumers (issue 7): the consume helper, the JSONL and PostgreSQL sinks, on real services.

PostgreSQL tests use NEWSFLOW_TEST_POSTGRES_DSN (default: the local test database) and skip, saying
so, where no server answers; under CI they fail instead (tests/services.py).
"""

import uuid
from contextlib import aclosing

import orjson
import pytest
from typer.testing import CliRunner

from pipeline import topics
from pipeline.cli import app as cli_app
from pipeline.kafka.consume import consume
from pipeline.kafka.clients import make_producer
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.wire import encode
from schemas import Category, EnrichedArticle, Entity
from tests.conftest import settings_for
from tests.services import PG_DSN, postgres_or_skip

pytestmark = pytest.mark.integration

@pytest.fixture
def pg_table():
    conn = postgres_or_skip()
    name = f"nf_test_{uuid.uuid4().hex[:10]}"
    yield conn, name
    for t in (name, f"{name}_stories", f"{name}_story_members"):  # the sink's story tables beside it
        conn.execute(f'DROP TABLE IF EXISTS "{t}"')
    conn.close()


def art(i: int, version: str = "0.1.0", title: str | None = None) -> EnrichedArticle:
    return EnrichedArticle(
        id=f"art{i:04d}", origin=f"feeds/{i}.txt", received_at="2025-02-14T10:00:00Z", raw_format="text",
        title=title or f"Harbour strike number {i}", body=f"Dock workers in Antwerp stopped work over pay, day {i}.",
        language="en", pipeline_version=version, stage_versions={"parse": "1"},
        entities=[Entity(text="Antwerp", label="GPE", start=16, end=23, canonical="Antwerp", country_code="BE")],
        categories=[Category(label="economy, business and finance", score=0.8)],
    )


async def publish(settings, records: list[bytes], partition: int | None = None) -> None:
    p = make_producer(settings)
    await p.start()
    try:
        for v in records:
            await p.send_and_wait(topics.ENRICHED, value=v, partition=partition)
    finally:
        await p.stop()


def test_postgres_sink_upserts_by_id_newer_or_equal_version_wins_and_is_queryable(pg_table):
    from pipeline.connectors.sinks.postgres import PostgresSink

    conn, table = pg_table
    sink = PostgresSink(PG_DSN, table)
    sink.write([art(1), art(2)])
    sink.flush()
    sink.write([art(1, title="Harbour strike ends")])  # same version: replaces
    sink.write([art(2, version="0.0.9", title="stale")])  # older pipeline: ignored
    sink.flush()
    sink.write([art(2, version="0.10.0", title="Harbour strike reprocessed")])  # newer: replaces
    sink.flush()
    sink.close()
    rows = dict(conn.execute(f'SELECT id, title FROM "{table}" ORDER BY id').fetchall())
    assert rows == {"art0001": "Harbour strike ends", "art0002": "Harbour strike reprocessed"}
    q = conn.execute(f'SELECT id FROM "{table}" WHERE entities @> %s::jsonb ORDER BY id',
                     (orjson.dumps([{"canonical": "Antwerp", "label": "GPE"}]).decode(),)).fetchall()
    assert [r[0] for r in q] == ["art0001", "art0002"]
    q = conn.execute(f'SELECT id FROM "{table}" WHERE category_labels @> %s AND entity_names @> %s',
                     (["economy, business and finance"], ["Antwerp"])).fetchall()
    assert len(q) == 2
    q = conn.execute(f"SELECT id FROM \"{table}\" WHERE tsv @@ websearch_to_tsquery('english', %s)",
                     ("strike ends",)).fetchall()
    assert [r[0] for r in q] == ["art0001"]
    idx = {r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,)).fetchall()}
    assert any("gin (tsv)" in d for d in idx) and any("gin (entities jsonb_path_ops)" in d for d in idx)
    rec = conn.execute(f'SELECT record FROM "{table}" WHERE id = %s', ("art0002",)).fetchone()[0]
    assert EnrichedArticle.model_validate(rec).pipeline_version == "0.10.0"


def test_postgres_sink_keeps_the_newest_version_of_an_article(pg_table):
    """Issue 17: an update (same canonical URL, changed text) is a new version; the table keeps the newest,
    whatever order the versions arrive in."""
    from pipeline.connectors.sinks.postgres import PostgresSink

    conn, table = pg_table
    sink = PostgresSink(PG_DSN, table)
    first = art(1).model_copy(update={"version": 1})
    second = art(2, title="Harbour strike: talks resume").model_copy(update={"version": 2, "version_of": "art0001"})
    third = art(3, title="Harbour strike ends").model_copy(update={"version": 3, "version_of": "art0001"})
    other = art(9).model_copy(update={"version": 1})
    sink.write([first, other])
    sink.flush()
    sink.write([third])
    sink.flush()
    sink.write([second, first])  # late redeliveries of older versions
    sink.flush()
    sink.close()
    rows = conn.execute(f'SELECT id, first_version_id, version, title FROM "{table}" ORDER BY id').fetchall()
    assert rows == [("art0003", "art0001", 3, "Harbour strike ends"), ("art0009", "art0009", 1, "Harbour strike number 9")]


def test_postgres_sink_bad_dsn_is_one_clear_error():
    from pipeline.errors import ConfigError
    from pipeline.connectors.sinks.postgres import PostgresSink

    with pytest.raises(ConfigError, match="cannot connect to PostgreSQL"):
        PostgresSink("host=127.0.0.1 port=1 dbname=nope connect_timeout=2")
    with pytest.raises(ConfigError, match="no PostgreSQL DSN"):
        PostgresSink(None)


async def test_consume_yields_validated_articles_and_commits_after_processing(broker):
    settings = settings_for(broker)
    await ensure_topics(settings)
    await publish(settings, [encode(art(1)), b'{"not": "an article"}', encode(art(2)), encode(art(3))], partition=0)
    invalid = []
    seen = []
    # aclosing: the generator commits and leaves the group right at the break, not when garbage-collected
    async with aclosing(consume(settings, "reader", idle_timeout=3,
                                on_invalid=lambda m, e: invalid.append(m.offset))) as articles:
        async for a in articles:
            assert isinstance(a, EnrichedArticle)
            seen.append(a.id)
            if len(seen) == 2:
                break  # the loop stops while processing the 2nd article: it is not committed
    assert len(invalid) == 1 and seen == ["art0001", "art0002"]
    again = [a.id async for a in consume(settings, "reader", idle_timeout=3)]
    # the article the loop broke on comes again; the one processed before it (and the invalid one) do not
    assert again == ["art0002", "art0003"]


def test_sink_commands_write_each_article_and_resume_from_the_group(broker, pg_table, tmp_path, monkeypatch):
    import asyncio

    for k, v in broker.env().items():  # the broker's profile: on Tansu a first join otherwise waits 30 s
        monkeypatch.setenv(k, v)
    conn, table = pg_table
    settings = settings_for(broker)
    asyncio.run(ensure_topics(settings))
    asyncio.run(publish(settings, [encode(art(i)) for i in range(5)] + [b"garbage"]))
    run = CliRunner()
    res = run.invoke(cli_app, ["--broker", broker.address, "sink", "postgres", "--dsn", PG_DSN, "--table", table,
                               "--idle-timeout", "3"])
    assert res.exit_code == 0, res.output
    assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == 5
    # replayed copies (same ids, newer pipeline) update the rows; the group resumes after what it committed
    asyncio.run(publish(settings, [encode(art(i, version="0.2.0", title=f"Replayed {i}")) for i in range(2)]))
    res = run.invoke(cli_app, ["--broker", broker.address, "sink", "postgres", "--dsn", PG_DSN, "--table", table,
                               "--idle-timeout", "3"])
    assert res.exit_code == 0 and "2 article(s) written" in res.output, res.output
    titles = dict(conn.execute(f'SELECT id, title FROM "{table}"').fetchall())
    assert len(titles) == 5 and titles["art0000"] == "Replayed 0" and titles["art0004"] == "Harbour strike number 4"
    res = run.invoke(cli_app, ["--broker", broker.address, "sink", "jsonl", "--dir", str(tmp_path / "out"),
                               "--idle-timeout", "3"])
    assert res.exit_code == 0, res.output
    lines = [orjson.loads(ln) for f in sorted((tmp_path / "out").glob("*.jsonl")) for ln in f.read_bytes().splitlines()]
    assert len(lines) == 7 and {ln["id"] for ln in lines} == {f"art{i:04d}" for i in range(5)}


async def test_consume_cleans_up_on_break_without_aclosing(broker):
    """The README's loop as a user writes it: a plain ``async for`` with ``break``, no ``aclosing``. The
    generator is closed as soon as the loop drops it (asyncio's async-generator finalizer), so what was
    processed before the break is committed and the group is left at once, not at interpreter exit."""
    import asyncio
    import time

    settings = settings_for(broker)
    await ensure_topics(settings)
    await publish(settings, [encode(art(i)) for i in range(1, 4)], partition=0)
    seen = []
    async for a in consume(settings, "breaker", idle_timeout=10):
        seen.append(a.id)
        if len(seen) == 2:
            break
    t0 = time.monotonic()
    from pipeline.kafka.admin import group_members

    while time.monotonic() - t0 < 10 and await group_members(settings, "breaker"):
        await asyncio.sleep(0.2)
    assert await group_members(settings, "breaker") == 0, "the group was not left after the break"
    again = [a.id async for a in consume(settings, "breaker", idle_timeout=3)]
    assert seen == ["art0001", "art0002"] and again == ["art0002", "art0003"]
