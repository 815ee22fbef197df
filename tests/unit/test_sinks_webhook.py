"""Issue 21: the webhook alert sink against a real local HTTP server: matching, retries, its own dead letters."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from pipeline.connectors.sinks.webhook import Rules, WebhookSink
from pipeline.errors import ConfigError
from schemas import Category, DeadLetter, EnrichedArticle, Entity, Place


class Receiver:
    """A local HTTP server: ``plan[article id]`` is the list of statuses to answer, in turn (then 200)."""

    def __init__(self):
        self.plan: dict[str, list[int]] = {}
        self.got: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                outer.got.append((key, json.loads(body)))
                codes = outer.plan.get(key) or []
                code = codes.pop(0) if codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=s3cret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def article(i: int, *, entities=(), keywords=(), categories=(), country=None) -> EnrichedArticle:
    return EnrichedArticle(
        id=f"id{i}", origin=f"feeds/{i}.txt", received_at="2026-01-01T00:00:00Z", raw_format="text", title=f"T{i}",
        body="b", keywords=list(keywords), primary_country=country,
        entities=[Entity(text=e, canonical=e, label="ORG", start=0, end=len(e)) for e in entities],
        categories=[Category(label=c, score=0.9) for c in categories],
        places=[Place(name="Kenya", country_code=country)] if country else [])


def test_posts_only_matching_articles_with_what_matched(receiver, tmp_path):
    rules = Rules(entities=["Reuters"], keywords=["strike"], categories=["economy"], countries=["ke"])
    sink = WebhookSink(receiver.url, rules, dead_letter_path=tmp_path / "dl.jsonl", sleep=lambda s: None)
    batch = [article(1, entities=["reuters"]), article(2, keywords=["Strike", "port"]), article(3, categories=["Economy"]),
             article(4, country="KE"), article(5, entities=["Nobody"], keywords=["weather"])]
    sink.write(batch)
    assert [k for k, _ in receiver.got] == ["id1", "id2", "id3", "id4"]
    matched = {k: body["matched"] for k, body in receiver.got}
    assert matched == {"id1": {"entities": ["Reuters"]}, "id2": {"keywords": ["strike"]},
                       "id3": {"categories": ["economy"]}, "id4": {"countries": ["ke"]}}
    assert receiver.got[0][1]["article"]["origin"] == "feeds/1.txt"
    assert (sink.posted, sink.skipped, sink.dead) == (4, 1, 0) and not (tmp_path / "dl.jsonl").exists()


def test_retries_then_its_own_dead_letter(receiver, tmp_path):
    waits = []
    sink = WebhookSink(receiver.url, Rules(), dead_letter_path=tmp_path / "dl.jsonl", retries=3, backoff_s=0.5,
                       sleep=waits.append)
    receiver.plan = {"id1": [503, 429], "id2": [500, 500, 500, 500], "id3": [400]}
    sink.write([article(1), article(2), article(3)])
    keys = [k for k, _ in receiver.got]
    assert keys.count("id1") == 3  # 503, 429, then 200
    assert keys.count("id2") == 4  # the first try and three retries, all 500
    assert keys.count("id3") == 1  # a 4xx is the receiver's refusal: not retried
    assert waits == [0.5, 1.0, 0.5, 1.0, 2.0]
    assert (sink.posted, sink.dead) == (1, 2)
    dead = [DeadLetter.model_validate(orjson.loads(line)) for line in (tmp_path / "dl.jsonl").read_bytes().splitlines()]
    assert [(d.article_id, d.stage) for d in dead] == [("id2", "webhook"), ("id3", "webhook")]
    assert dead[0].reason == "HTTP 500 from 127.0.0.1 (after 4 attempts)" and dead[1].reason == "HTTP 400 from 127.0.0.1"
    assert "s3cret" not in dead[0].reason
    assert orjson.loads(dead[0].payload)["article"]["id"] == "id2"  # the body it tried, ready to post again


def test_unreachable_receiver_is_retried_and_dead_lettered(tmp_path):
    r = Receiver()
    url = r.url
    r.close()  # nothing listens there any more
    sink = WebhookSink(url, Rules(), dead_letter_path=tmp_path / "dl.jsonl", retries=2, sleep=lambda s: None,
                       timeout_s=2)
    sink.write([article(9)])
    line = orjson.loads((tmp_path / "dl.jsonl").read_bytes())
    assert line["reason"].startswith("cannot reach 127.0.0.1") and line["reason"].endswith("(after 3 attempts)")


def test_bad_url_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="http:// or https://"):
        WebhookSink("ftp://x", dead_letter_path=tmp_path / "d")
