"""The read-only commands against a real broker (issue 18): an unknown topic is an error and is never
created; ``tail`` prints JSON."""

import asyncio
import subprocess
import sys

import orjson
import pytest

from pipeline import topics
from pipeline.kafka.admin import ensure_topics, topic_names
from pipeline.kafka.clients import make_producer
from pipeline.kafka.consume import consume
from pipeline.errors import ConfigError
from tests.conftest import settings_for

pytestmark = pytest.mark.integration


def newsflow(broker, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", "--broker", broker.address, *args],
                          capture_output=True, timeout=timeout)


def test_reading_an_unknown_topic_is_one_line_and_creates_nothing(broker, tmp_path):
    settings = settings_for(broker)
    asyncio.run(ensure_topics(settings))
    for args in (["tail", "-t", "news.enrichd"], ["sink", "jsonl", "--dir", str(tmp_path / "out")]):
        if args[0] == "sink":
            asyncio.run(_delete(settings, topics.ENRICHED))
        r = newsflow(broker, *args)
        err = r.stderr.decode()
        assert r.returncode == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "no topic 'news.enrichd'" in newsflow(broker, "tail", "-t", "news.enrichd").stderr.decode()
    assert "did you mean news.enriched" in newsflow(broker, "tail", "-t", "news.enrichd").stderr.decode()
    names = asyncio.run(topic_names(settings))
    assert "news.enrichd" not in names and topics.ENRICHED not in names

    async def first():
        async for a in consume(settings, "reader", topic="news.nosuch", idle_timeout=1):
            return a

    with pytest.raises(ConfigError, match="no topic 'news.nosuch'"):
        asyncio.run(first())
    assert "news.nosuch" not in asyncio.run(topic_names(settings))


async def _delete(settings, topic):
    from pipeline.kafka.admin import admin_client

    admin = admin_client(settings)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


def test_tail_prints_json(broker):
    settings = settings_for(broker)
    asyncio.run(ensure_topics(settings))

    async def send():
        producer = make_producer(settings)
        await producer.start()
        try:
            await producer.send_and_wait(topics.RAW, b"Bare headline\n\nA bare text a producer wrote.")
            await producer.send_and_wait(topics.RAW, orjson.dumps({"kind": "newsflow.raw", "origin": "x",
                                                                   "payload": "Headline\n\nBody text."}))
        finally:
            await producer.stop()

    asyncio.run(send())
    r = newsflow(broker, "tail", "-t", topics.RAW, "--from-beginning", "--json", "-n", "2", "--idle-timeout", "20")
    assert r.returncode == 0, r.stderr
    env, bare = sorted((orjson.loads(ln) for ln in r.stdout.splitlines()), key=lambda d: "json" in d)
    assert bare["json"] is False and bare["payload"].startswith("Bare headline") and bare["topic"] == topics.RAW
    assert env["origin"] == "x"
    r = newsflow(broker, "tail", "-t", topics.RAW, "--from-beginning", "-n", "2", "--idle-timeout", "20")
    assert r.returncode == 0 and b"RawArticle(" not in r.stdout and b'"origin": "x"' in r.stdout, r.stdout


@pytest.mark.parametrize("command", [["tail", "--json"], ["sink", "jsonl", "--dir", "out"]])
def test_a_broker_going_away_is_a_bounded_retry_then_one_clear_exit(tansu_broker, tmp_path, command):
    """Issue 18: tail and sink wrote 1,000-2,000 error lines in 30 s and never exited. A broker of its own
    (the embedded one starts in milliseconds), since the test stops it."""
    broker = tansu_broker
    import os
    import time

    settings = settings_for(broker)
    asyncio.run(ensure_topics(settings))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NEWSFLOW_")},
           "NEWSFLOW_RECONNECT_TIMEOUT_S": "12"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "--broker", broker.address, *command], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(8)  # started and reading
        assert proc.poll() is None, proc.stderr.read()
        broker.stop()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2, lines
    assert lines[-1].startswith(f"newsflow: error: lost the Kafka broker at {broker.address}")  # (while joining)
    assert ": unreachable for " in lines[-1]
    assert "Traceback" not in err.decode() and len(lines) <= 12, lines
