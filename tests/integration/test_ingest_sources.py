"""Sources for producers that cannot speak Kafka (issue 7): RSS/Atom feeds over local HTTP, and
``POST /articles`` on a real worker. Nothing here touches the internet."""

import asyncio
import functools
import http.server
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from pipeline import topics
from pipeline.brokers.embedded import free_port, wait_for_port
from pipeline.cli import app as cli_app
from pipeline.kafka.admin import ensure_topics
from pipeline.stages.parse import article_id
from tests.conftest import collect, settings_for

pytestmark = pytest.mark.integration

FEEDS = Path(__file__).parent.parent / "data" / "feeds"


@pytest.fixture
def feed_server(tmp_path):
    root = tmp_path / "www"
    shutil.copytree(FEEDS, root)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_feed_polling_publishes_new_items_once(broker, feed_server, tmp_path):
    root, base = feed_server
    settings = settings_for(broker)
    asyncio.run(ensure_topics(settings))
    seen = tmp_path / "seen.json"
    args = ["--broker", broker.address, "ingest", "--feed", f"{base}/world.rss", "--feed", str(root / "science.atom"),
            "--seen-file", str(seen)]
    run = CliRunner()
    res = run.invoke(cli_app, args + ["--every", "0.2", "--polls", "2"])
    assert res.exit_code == 0, res.output
    assert "world.rss: 2 new item(s)" in res.output and "science.atom: 1 new item(s)" in res.output
    assert "world.rss: 0 new item(s)" in res.output  # the second poll found nothing new
    # a new item appears in the feed
    rss = (root / "world.rss").read_text()
    extra = ("<item><title>Floods in Valencia</title><link>https://news.example.org/2025/10/floods</link>"
             "<description>Heavy rain flooded streets in Valencia overnight.</description></item>")
    (root / "world.rss").write_text(rss.replace("</channel>", extra + "</channel>"))
    later = time.time() + 5
    os.utime(root / "world.rss", (later, later))  # a newer Last-Modified than the one the poller kept
    res = run.invoke(cli_app, args)
    assert res.exit_code == 0 and "world.rss: 1 new item(s)" in res.output, res.output
    got = asyncio.run(collect(settings, 4, timeout=20, topic_names=(topics.RAW,)))
    origins = sorted(orjson.loads(v)["origin"] for v in got[topics.RAW])
    assert len(origins) == 4 and "https://news.example.org/2025/10/floods" in origins
    bad = run.invoke(cli_app, ["--broker", broker.address, "ingest", "--feed", f"{base}/missing.rss",
                               "--seen-file", str(seen)])
    assert bad.exit_code == 1 and "HTTP 404" in bad.output


def post(url: str, body: bytes, ctype: str, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read() or b"{}")


async def test_http_ingest_on_a_real_worker(broker, make_worker):
    settings = settings_for(broker)
    await ensure_topics(settings)
    port = free_port()
    worker = make_worker("newsflow", stages="parse", extra_env={
        "NEWSFLOW_WEB_ENABLED": "true", "NEWSFLOW_WEB_PORT": str(port), "NEWSFLOW_INGEST_TOKEN": "s3cret",
        "NEWSFLOW_MAX_PAYLOAD_BYTES": "5000"}).start()
    await asyncio.get_running_loop().run_in_executor(None, functools.partial(wait_for_port, "127.0.0.1", port, 90))
    url = f"http://127.0.0.1:{port}/articles"
    auth = {"Authorization": "Bearer s3cret"}
    call = functools.partial(asyncio.get_running_loop().run_in_executor, None)
    text = b"Council vote\n\nThe city council voted on Tuesday to rebuild the old market hall."
    assert (await call(post, url, text, "text/plain"))[0] == 401
    assert (await call(post, url, text, "text/plain", {"Authorization": "Bearer wrong"}))[0] == 401
    status, body = await call(post, url, text, "text/plain", {**auth, "X-Newsflow-Origin": "https://city.example/vote"})
    assert status == 202 and body["accepted"] == [{"origin": "https://city.example/vote",
                                                   "id": article_id("https://city.example/vote", text)}]
    doc = orjson.dumps([{"title": "One", "body": "First pushed story about trains."},
                        {"title": "Two", "body": "Second pushed story about buses."}])
    status, many = await call(post, url, doc, "application/json", auth)
    assert status == 202 and [a["origin"] for a in many["accepted"]] == ["http:/articles#1", "http:/articles#2"]
    status, body = await call(post, url, b"x" * 6000, "text/plain", auth)
    assert status == 413 and "limit" in body["error"]
    status, body = await call(post, url, b'{"title": "broken', "application/json", auth)
    assert status == 400 and "invalid JSON" in body["error"]
    got = await collect(settings, 3, timeout=60, topic_names=(topics.PARSED,))
    parsed = {orjson.loads(v)["id"]: orjson.loads(v) for v in got[topics.PARSED]}
    assert article_id("https://city.example/vote", text) in parsed, worker.log()[-2000:]
    assert {a["id"] for a in many["accepted"]} <= set(parsed)
    assert worker.alive()
    worker.stop(kill=True)


def test_ingest_applies_the_limit_to_the_encoded_message_and_sends_the_rest(broker, tmp_path):
    """1,000,000 bytes of \\x01 is under the 2 MB payload limit but six times that once JSON-escaped: one line
    and a dead letter for it (issue 18), the other files still published, a summary printed, exit 1."""
    settings = settings_for(broker)
    asyncio.run(ensure_topics(settings))
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.txt").write_text("First headline\n\nA story about the harvest in Kenya and the rains.")
    (inputs / "b-control.txt").write_bytes(b"\x01" * 1_000_000)
    (inputs / "c.txt").write_text("Second headline\n\nA story about the port strike in Antwerp.")
    res = CliRunner().invoke(cli_app, ["--broker", broker.address, "ingest", str(inputs)])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output and "MessageSizeTooLarge" not in res.output
    assert "b-control.txt: rejected: message of" in res.output and "once encoded is over the limit" in res.output
    assert "published 2 input(s) to news.raw, 1 rejected" in res.output
    got = asyncio.run(collect(settings, 3, timeout=20, topic_names=(topics.RAW, topics.DLQ)))
    assert sorted(Path(orjson.loads(v)["origin"]).name for v in got[topics.RAW]) == ["a.txt", "c.txt"]
    [dl] = [orjson.loads(v) for v in got[topics.DLQ]]
    assert dl["stage"] == "ingest" and dl["origin"].endswith("b-control.txt") and dl["payload_truncated"] is True
