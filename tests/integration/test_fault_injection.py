"""An unexpected exception in any stage's agent (not a StageError: a bug) sends that article to news.dlq
with the stage, the error and the stage's input, and the stream goes on: no restart loop, no silent skip
(faust's own behaviour is to restart the agent and ack the event). Faults are injected with
``NEWSFLOW_FAULT_INJECT`` (pipeline/worker/faults.py)."""

from __future__ import annotations

import base64

import orjson
import pytest

from pipeline import topics
from pipeline.worker.faults import FaultInjector, InjectedFault, parse_spec
from pipeline.kafka.clients import publish_raw
from pipeline.kafka.admin import ensure_topics
from schemas import RawArticle
from tests.chaos.ground_truth import TerminalReader
from tests.conftest import settings_for

STAGES = ("parse", "dedup", "normalize", "tag", "enrich")
MARK = {s: f"zz9{s}" for s in STAGES}


def test_fault_spec():
    assert parse_spec("tag:boom, parse:x,bad,:y") == {"tag": ["boom"], "parse": ["x"]}
    f = FaultInjector("tag:boom")
    f.check("parse", "boom")
    with pytest.raises(InjectedFault):
        f.check("tag", "a", b"xx boom")
    assert not FaultInjector("")


@pytest.mark.integration
async def test_unexpected_error_in_each_stage_goes_to_dlq_and_stream_goes_on(broker, make_worker):
    settings = settings_for(broker)
    await ensure_topics(settings)
    spec = ",".join(f"{s}:{m}" for s, m in MARK.items())
    worker = make_worker("newsflow", extra_env={"NEWSFLOW_FAULT_INJECT": spec}).start()
    faulty = [RawArticle.from_bytes(f"Harbour story {s}\n\nThe harbour reopened today {m} after repairs."
                                    .encode(), f"fault/{s}") for s, m in MARK.items()]
    stories = ["Farmers sold apples and pears at the Saturday market despite the cold weather.",
               "The city council approved a budget for new cycle lanes along the river.",
               "A local bakery won a national prize for its sourdough bread this week.",
               "Rail services were delayed after a signal failure near the central station.",
               "Students at the university protested against higher rents for campus housing."]
    good = [RawArticle.from_bytes(f"Report {i}\n\n{stories[i]}".encode(), f"good/{i}") for i in range(5)]
    inputs = faulty[:3] + good[:2] + faulty[3:] + good[2:]
    await publish_raw(settings, inputs)
    reader = await TerminalReader(settings).start()
    try:
        assert await reader.until({r.origin for r in inputs}, timeout=180, settle=2), worker.log()[-3000:]
    finally:
        await reader.stop()
    dead = {r["origin"]: r for r in reader.records[topics.DLQ]}
    assert set(dead) == {f"fault/{s}" for s in STAGES}, reader.counts()
    for s in STAGES:
        d = dead[f"fault/{s}"]
        assert d["stage"] == s and "InjectedFault" in d["reason"] and d["error_type"] == "InjectedFault", d
        payload = base64.b64decode(d["payload"]) if d["payload_encoding"] == "base64" else d["payload"].encode()
        assert MARK[s].encode() in payload  # the stage's input, as received
        if s != "parse":
            assert orjson.loads(payload)["origin"] == f"fault/{s}"  # the article record the stage was given
        # where it was read, batching stages (tag, enrich) included
        assert d["source_topic"] == topics.STAGE_TOPICS[s][0] and d["source_offset"] is not None, d
    assert {r["origin"] for r in reader.records[topics.ENRICHED]} == {g.origin for g in good}
    assert worker.alive()
