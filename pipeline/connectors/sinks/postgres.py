"""PostgreSQL sink (psycopg 3): one row per article, upserted by id.

Table (name from ``postgres_table``, default ``articles``)::

    id text PRIMARY KEY, origin, url, source, title, body, language, published_at, received_at,
    entities jsonb, categories jsonb, keywords jsonb, entity_names text[], category_labels text[],
    pipeline_version text, version_key int[], stage_versions jsonb, schema_version int,
    record jsonb (the whole record), updated_at timestamptz,
    tsv tsvector GENERATED ALWAYS AS (title weight A || body weight B) STORED

with GIN indexes on ``entities``, ``categories``, ``entity_names``, ``category_labels`` and ``tsv``.

Versions (issue 17): an update of an article (same canonical URL, changed text or a newer
``updated_at``; the dedup stage gives it ``version`` and ``version_of``) has an id of its own. The
table keeps one row per article: ``first_version_id`` (``version_of``, or the id of a first version) and
``version``; after each batch the rows of a story older than its newest version are deleted in the
same transaction, so a late redelivery of an old version never comes back either. (The story an article
reports, across outlets, is ``story_id`` in the stories tables below.)

Stories (issue 23), two more tables beside it, filled from the same records (each article carries its
``story_id`` and the ``story`` link), so one consumer of news.enriched keeps all three consistent:

    <table>_story_members: article_id text PRIMARY KEY, story_id, story_title, source, event_time,
        score, kinds text[], matched jsonb (the evidence), version_key, updated_at
    <table>_stories: story_id text PRIMARY KEY, title (its first article's), first_seen, last_seen,
        article_count, sources text[], updated_at

A member row is upserted by article id (same version rule as the articles); then every story the batch
touched (the new ones and those its articles left after a re-processing) is recomputed from its members
in one statement, and a story left with no member is deleted. news.stories carries the same stories for
consumers that do not read PostgreSQL.

Upsert rule: ``INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE`` the incoming ``pipeline_version``
is newer than or equal to the stored one (compared as numbers, ``0.10.0`` > ``0.9.1``). A replay by
the same or a newer pipeline replaces the row; a late record from an older pipeline (a worker not yet
upgraded) does not overwrite a re-processed one. Every statement is parameterized; the table name is
quoted as an identifier.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Sequence

from pydantic import SecretStr

from pipeline.errors import ConfigError
from schemas import EnrichedArticle

COLUMNS = ("id", "origin", "url", "source", "title", "body", "language", "published_at", "received_at",
           "entities", "categories", "keywords", "entity_names", "category_labels", "pipeline_version",
           "version_key", "stage_versions", "schema_version", "record", "first_version_id", "version", "article_updated_at")
JSONB = {"entities", "categories", "keywords", "stage_versions", "record"}


def version_key(version: str) -> list[int]:
    """``0.10.2`` -> [0, 10, 2]; anything non-numeric ends the key (``1.2.0rc1`` -> [1, 2, 0])."""
    out = []
    for part in (version or "").split("."):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
        if m.end() != len(part):
            break
    return out or [0]


def _no_nul(v):
    if isinstance(v, str):
        return v.replace("\x00", "")
    if isinstance(v, list):
        return [_no_nul(x) for x in v]
    if isinstance(v, dict):
        return {_no_nul(k): _no_nul(x) for k, x in v.items()}
    return v


def row(a: EnrichedArticle) -> tuple:
    from psycopg.types.json import Jsonb

    # PostgreSQL text and jsonb cannot hold NUL characters: drop them (nothing else is changed)
    rec = _no_nul(a.model_dump(mode="json"))
    if "\x00" in a.title + a.body:
        a = a.model_copy(update={"title": a.title.replace("\x00", ""), "body": a.body.replace("\x00", "")})
    names = sorted({e.canonical or e.text for e in a.entities})
    return (
        a.id, a.origin, a.url, a.source, a.title, a.body, a.language, a.published_at, a.received_at,
        Jsonb(rec["entities"]), Jsonb(rec["categories"]), Jsonb(rec["keywords"]), names,
        sorted({c.label for c in a.categories}), a.pipeline_version, version_key(a.pipeline_version),
        Jsonb(rec["stage_versions"]), a.schema_version, Jsonb(rec), a.version_of or a.id, a.version or 1,
        a.updated_at,
    )


class PostgresSink:
    def __init__(self, dsn: str | SecretStr | None, table: str = "articles", *, text_config: str = "english"):
        if isinstance(dsn, SecretStr):  # the settings keep it secret: it may hold a password
            dsn = dsn.get_secret_value()
        if not dsn:
            raise ConfigError("no PostgreSQL DSN: pass --dsn or set NEWSFLOW_POSTGRES_DSN")
        import psycopg
        from psycopg import sql

        try:
            self.conn = psycopg.connect(dsn, autocommit=False, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise ConfigError(f"cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}") from None
        self.sql = sql
        self.table = sql.Identifier(table)
        self.members = sql.Identifier(f"{table}_story_members")
        self.stories = sql.Identifier(f"{table}_stories")
        self.name = table
        self.text_config = text_config
        self.create()
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS)
        updates = sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in COLUMNS if c != "id"
        )
        self._upsert = sql.SQL(
            "INSERT INTO {t} ({cols}, updated_at) VALUES ({vals}, now()) "
            "ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = now() "
            "WHERE {t}.version_key <= EXCLUDED.version_key"
        ).format(t=self.table, cols=cols, vals=sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS)), updates=updates)
        # the newest version of each article touched stays; older versions go
        self._prune = sql.SQL(
            "DELETE FROM {t} a WHERE a.first_version_id = ANY(%s) AND a.version < "
            "(SELECT max(b.version) FROM {t} b WHERE b.first_version_id = a.first_version_id)"
        ).format(t=self.table)

    def create(self) -> None:
        sql, t = self.sql, self.table

        def idx(suffix: str) -> object:
            return sql.Identifier(f"{self.name}_{suffix}")

        cfg = sql.Literal(self.text_config)
        stmts = [
            sql.SQL("""CREATE TABLE IF NOT EXISTS {t} (
                id text PRIMARY KEY,
                origin text NOT NULL,
                url text,
                source text,
                title text NOT NULL DEFAULT '',
                body text NOT NULL DEFAULT '',
                language text,
                published_at timestamptz,
                received_at timestamptz,
                entities jsonb NOT NULL DEFAULT '[]',
                categories jsonb NOT NULL DEFAULT '[]',
                keywords jsonb NOT NULL DEFAULT '[]',
                entity_names text[] NOT NULL DEFAULT '{{}}',
                category_labels text[] NOT NULL DEFAULT '{{}}',
                pipeline_version text NOT NULL DEFAULT '',
                version_key int[] NOT NULL DEFAULT '{{0}}',
                stage_versions jsonb NOT NULL DEFAULT '{{}}',
                schema_version int NOT NULL DEFAULT 1,
                record jsonb NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                tsv tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector({cfg}::regconfig, coalesce(title, '')), 'A') ||
                    setweight(to_tsvector({cfg}::regconfig, coalesce(body, '')), 'B')) STORED
            )""").format(t=t, cfg=cfg),
            # tables made before versions (issue 17) get the columns; a row of theirs is its own story
            sql.SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS first_version_id text").format(t=t),
            sql.SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS version int NOT NULL DEFAULT 1").format(t=t),
            sql.SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS article_updated_at timestamptz").format(t=t),
            sql.SQL("UPDATE {t} SET first_version_id = id WHERE first_version_id IS NULL").format(t=t),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (first_version_id, version)").format(i=idx("versions"), t=t),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} USING GIN (tsv)").format(i=idx("tsv"), t=t),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} USING GIN (entities jsonb_path_ops)").format(i=idx("entities"), t=t),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} USING GIN (categories jsonb_path_ops)").format(i=idx("categories"), t=t),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} USING GIN (entity_names)").format(i=idx("entity_names"), t=t),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} USING GIN (category_labels)").format(i=idx("category_labels"), t=t),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (published_at)").format(i=idx("published_at"), t=t),
        ]
        with self.conn.transaction(), self.conn.cursor() as cur:
            for s in stmts:
                cur.execute(s)
            self._create_stories(cur)

    def _create_stories(self, cur) -> None:
        sql = self.sql
        cur.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {m} (
            article_id text PRIMARY KEY,
            story_id text NOT NULL,
            story_title text NOT NULL DEFAULT '',
            source text,
            event_time timestamptz NOT NULL,
            score double precision NOT NULL DEFAULT 0,
            kinds text[] NOT NULL DEFAULT '{{}}',
            matched jsonb NOT NULL DEFAULT '[]',
            version_key int[] NOT NULL DEFAULT '{{0}}',
            updated_at timestamptz NOT NULL DEFAULT now()
        )""").format(m=self.members))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {m} (story_id)").format(
            i=sql.Identifier(f"{self.name}_story_members_story"), m=self.members))
        cur.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {s} (
            story_id text PRIMARY KEY,
            title text NOT NULL DEFAULT '',
            first_seen timestamptz NOT NULL,
            last_seen timestamptz NOT NULL,
            article_count int NOT NULL,
            sources text[] NOT NULL DEFAULT '{{}}',
            updated_at timestamptz NOT NULL DEFAULT now()
        )""").format(s=self.stories))
        cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {s} (last_seen)").format(
            i=sql.Identifier(f"{self.name}_stories_last_seen"), s=self.stories))

    def write(self, batch: Sequence[EnrichedArticle]) -> None:
        if not batch:
            return
        with self.conn.cursor() as cur:
            cur.executemany(self._upsert, [row(a) for a in batch])
            stories = sorted({a.version_of for a in batch if a.version_of} | {a.id for a in batch if (a.version or 1) == 1})
            if stories:  # also a first version redelivered after one of its updates: it goes again
                cur.execute(self._prune, (stories,))
            self._write_stories(cur, [a for a in batch if a.story_id])

    def _write_stories(self, cur, batch: Sequence[EnrichedArticle]) -> None:
        if not batch:
            return
        from psycopg.types.json import Jsonb

        from pipeline.stages.stories.stage import event_time, source_of

        sql = self.sql
        ids = [a.id for a in batch]
        cur.execute(sql.SQL("SELECT DISTINCT story_id FROM {m} WHERE article_id = ANY(%s)").format(m=self.members),
                    (ids,))
        touched = {r[0] for r in cur.fetchall()} | {a.story_id for a in batch}
        rows = []
        for a in batch:
            link = a.story
            rows.append((
                a.id, a.story_id, link.title if link else "", source_of(a),
                datetime.fromtimestamp(event_time(a), tz=timezone.utc), link.score if link else 0.0,
                list(link.kinds) if link else [],
                Jsonb(_no_nul([t.model_dump(mode="json") for t in link.matched]) if link else []),
                version_key(a.pipeline_version),
            ))
        cur.executemany(sql.SQL(
            "INSERT INTO {m} (article_id, story_id, story_title, source, event_time, score, kinds, matched, "
            "version_key, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now()) "
            "ON CONFLICT (article_id) DO UPDATE SET story_id = EXCLUDED.story_id, story_title = EXCLUDED.story_title, "
            "source = EXCLUDED.source, event_time = EXCLUDED.event_time, score = EXCLUDED.score, "
            "kinds = EXCLUDED.kinds, matched = EXCLUDED.matched, version_key = EXCLUDED.version_key, updated_at = now() "
            "WHERE {m}.version_key <= EXCLUDED.version_key").format(m=self.members), rows)
        story_ids = sorted(touched)
        cur.execute(sql.SQL(
            "INSERT INTO {s} (story_id, title, first_seen, last_seen, article_count, sources, updated_at) "
            "SELECT story_id, (array_agg(story_title ORDER BY event_time, article_id))[1], min(event_time), "
            "max(event_time), count(*), array_remove(array_agg(DISTINCT source), NULL), now() "
            "FROM {m} WHERE story_id = ANY(%s) GROUP BY story_id "
            "ON CONFLICT (story_id) DO UPDATE SET title = EXCLUDED.title, first_seen = EXCLUDED.first_seen, "
            "last_seen = EXCLUDED.last_seen, article_count = EXCLUDED.article_count, sources = EXCLUDED.sources, "
            "updated_at = now()").format(s=self.stories, m=self.members), (story_ids,))
        cur.execute(sql.SQL(
            "DELETE FROM {s} WHERE story_id = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM {m} WHERE {m}.story_id = {s}.story_id)").format(s=self.stories, m=self.members),
            (story_ids,))

    def flush(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()
