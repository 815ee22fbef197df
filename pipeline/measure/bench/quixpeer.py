"""The streaming peer (issue 22): newsflow's own stage functions as a Quix Streams application.

``python -m pipeline.measure.bench.quixpeer BROKER MODE GROUP`` runs one Quix Streams ``Application`` (consumer
group GROUP, from the earliest offset: the bench gives it fresh topics or a group committed at their end) with
one ``StreamingDataFrame`` per hop, news.raw -> news.parsed -> news.unique -> news.normalized -> news.tagged ->
news.enriched, and prints ``ready`` once they are built; it runs until SIGTERM.

- ``noop``: every hop forwards key and value bytes untouched (the transport peer of the no-op worker);
- ``pipeline``: every hop runs the stage's function from ``pipeline.stages.chain`` (``Pipeline.apply``, the same
  one the worker's agents call) on one record at a time, in this one process, as a Quix application does, and
  writes each Step where the worker would: the next topic, news.duplicates or news.dlq (a dead letter with the
  stage, the reason and the input). The dedup index is the chain's in-memory one.

Only the benchmark uses it: quixstreams is the optional ``quix`` extra (README "Benchmark").
"""

from __future__ import annotations

import logging
import sys

from pipeline import topics

NEXT = {src: (stage, dst) for stage, (src, dst) in topics.STAGE_TOPICS.items()}


def stage_fn(pipe, stage: str, src: str, route: dict):
    """One hop's Quix ``apply`` callback: the stage's function on one record (value, key, timestamp, headers),
    returning the bytes to write and leaving their topic and key in ``route``, as the worker's agent would."""
    from pipeline.errors import StageError
    from pipeline.kafka.wire import decode, encode, raw_from_message
    from pipeline.stages.chain import Step, dead_letter, dead_letter_key
    from schemas import Article

    def run(value: bytes, key, timestamp, headers) -> bytes:
        origin = key.decode(errors="replace") if key else src
        payload = value or b""
        try:
            if stage == "parse":
                item = raw_from_message(value, origin)
                payload = item.payload_bytes()
            else:
                item = decode(payload, Article)
            step = pipe.apply(stage, [item])[0]
        except Exception as exc:  # noqa: BLE001 - a record that is no article: a dead letter, as the worker does
            step = Step(topics.DLQ, error=StageError(stage, origin, f"{type(exc).__name__}: {str(exc)[:300]}"))
        if step.error is not None:
            route["topic"], route["key"] = topics.DLQ, dead_letter_key(step.error)
            return encode(dead_letter(step.error, payload, source_topic=src))
        route["topic"], route["key"] = step.topic, step.key
        return encode(step.record)

    return run


def build(broker: str, mode: str, group: str):
    from quixstreams import Application

    app = Application(
        broker_address=broker, consumer_group=group, auto_offset_reset="earliest", loglevel="WARNING",
        auto_create_topics=False, use_changelog_topics=False, commit_interval=2.8,
        processing_guarantee="at-least-once",
        producer_extra_config={"acks": "all", "linger.ms": 5, "message.max.bytes": 8 * 1024 * 1024},
        consumer_extra_config={"fetch.wait.max.ms": 100},
    )

    def topic(name: str):
        return app.topic(name, key_deserializer="bytes", value_deserializer="bytes", key_serializer="bytes",
                         value_serializer="bytes")

    by_name = {name: topic(name) for name in topics.ALL_TOPICS}
    if mode == "noop":
        for src, (_, dst) in NEXT.items():
            app.dataframe(by_name[src]).to_topic(by_name[dst])
        return app
    if mode != "pipeline":
        raise SystemExit(f"quixpeer: unknown mode {mode!r} (noop or pipeline)")

    from pipeline.settings import Settings
    from pipeline.stages.chain import Pipeline

    pipe = Pipeline(Settings(broker=broker))
    pipe.warm_up()
    # where the current record goes: Quix runs one record at a time through a dataframe's steps, so the apply
    # step sets it and to_topic's topic and key callbacks read it for that same record
    route: dict = {}

    for src, (stage, _) in NEXT.items():
        sdf = app.dataframe(by_name[src]).apply(stage_fn(pipe, stage, src, route), metadata=True)
        sdf.to_topic(lambda v, k, t, h: by_name[route["topic"]], key=lambda v: route["key"])
    return app


def main(argv: list[str]) -> None:
    broker, mode, group = argv[:3]
    logging.basicConfig(level=logging.WARNING)
    app = build(broker, mode, group)
    print("ready", flush=True)
    app.run()  # stops on SIGTERM/SIGINT


if __name__ == "__main__":
    main(sys.argv[1:])
