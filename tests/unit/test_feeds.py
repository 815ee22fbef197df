"""RSS/Atom parsing into raw articles (issue 7); local files only."""

from pathlib import Path

import orjson
import pytest

from pipeline.stages.chain import Pipeline
from pipeline.connectors.sources.feeds import FeedError, SeenStore, fetch, parse_feed
from pipeline.stages.parse import article_id

FEEDS = Path(__file__).parent.parent / "data" / "feeds"


def test_rss_items_become_json_articles_with_stable_origins():
    items = parse_feed((FEEDS / "world.rss").read_bytes(), str(FEEDS / "world.rss"))
    assert [k for k, _ in items] == ["https://news.example.org/2025/02/port-strike",
                                     "https://news.example.org/2025/07/heatwave"]
    raw = items[0][1]
    obj = orjson.loads(raw.payload)
    assert obj["title"] == "Port strike spreads to Rotterdam" and obj["source"] == "Example World News"
    assert obj["categories"] == ["Economy"] and raw.origin.startswith("https://news.example.org/2025/02/port-strike")
    again = parse_feed((FEEDS / "world.rss").read_bytes(), "x")[0][1]
    assert article_id(again.origin, again.payload_bytes()) == article_id(raw.origin, raw.payload_bytes())
    art = Pipeline().parse(raw)
    assert art.title == "Port strike spreads to Rotterdam" and "<p>" not in art.body and "Unions demand" in art.body
    assert art.published_at.isoformat().startswith("2025-02-14")


def test_atom_entry_uses_content_and_authors():
    (key, raw), = parse_feed((FEEDS / "science.atom").read_bytes(), "science.atom")
    obj = orjson.loads(raw.payload)
    assert key == "urn:example:science:1" and raw.origin == "science.atom#urn:example:science:1"
    assert obj["authors"] == ["Ada Lovelace"] and "Astronomers in Chile" in obj["body"]


def test_bad_feeds_give_one_line_errors(tmp_path):
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"<html><body>not a feed <<<")
    with pytest.raises(FeedError, match="not a readable RSS/Atom feed"):
        parse_feed(junk.read_bytes(), str(junk))
    with pytest.raises(FeedError, match="cannot read"):
        fetch(str(tmp_path / "missing.rss"), 1000)
    with pytest.raises(FeedError, match="over the limit"):
        fetch(str(FEEDS / "world.rss"), 100)


def test_seen_store_round_trips_and_is_bounded(tmp_path):
    s = SeenStore(tmp_path / "seen.json")
    s.remember("f", ["a", "b"])
    s.state("f").etag = '"v1"'
    s.save()
    t = SeenStore(tmp_path / "seen.json")
    assert t.state("f").seen == ["a", "b"] and t.state("f").etag == '"v1"'
