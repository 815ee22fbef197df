"""The Faust app: one thin agent per stage, moving records between topics.

Each agent decodes its input, calls the stage through ``Pipeline`` (pure functions), and sends the
result to the next topic. A failure on one article sends that article to ``news.dlq`` with the stage,
the reason and its input; the agent goes on with the next one. CPU-heavy stages (tag, enrich) take
batches and run them in a worker thread, so the event loop keeps heartbeating while they work.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import faust
from pydantic import ValidationError

from pipeline import faust_fixes, topics
from pipeline.stages.chain import Pipeline, dead_letter
from pipeline.errors import StageError
from pipeline.worker.faults import FaultInjector
from pipeline.kafka.clients import max_message_bytes, topic_partitions
from pipeline.brokers.embedded_recovery import BrokerWatch
from pipeline.settings import Settings
from pipeline.stages.dedup.stage import partition_key
from pipeline.kafka.wire import decode, encode, raw_from_message
from schemas import Article

log = logging.getLogger("newsflow.worker")


def _origin_of(event) -> str:
    m = event.message
    return f"{m.topic}/{m.partition}@{m.offset}"


def create_app(settings: Settings) -> faust.App:
    creds = None
    if settings.security_protocol != "PLAINTEXT":
        from faust.auth import SASLCredentials, SSLCredentials

        if settings.security_protocol.startswith("SASL"):
            ssl_ctx = settings.kafka_client_kwargs().get("ssl_context")
            creds = SASLCredentials(
                username=settings.sasl_username, password=settings.sasl_password,
                mechanism=settings.sasl_mechanism, ssl_context=ssl_ctx,
            )
        else:
            creds = SSLCredentials(settings.kafka_client_kwargs()["ssl_context"])
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{s}" for s in settings.bootstrap_servers],
        broker_credentials=creds,
        key_serializer="raw",
        value_serializer="raw",
        store=settings.store,
        datadir=str(settings.data_dir / settings.app_id),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_request_timeout=max(settings.session_timeout_s + 5, 40.0),
        producer_max_request_size=max_message_bytes(settings),
        producer_max_batch_size=settings.producer_max_batch_bytes,
        consumer_max_fetch_size=max_message_bytes(settings) * 4,
        processing_guarantee=settings.processing_guarantee,
        web_enabled=settings.web_enabled,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        stream_wait_empty=False,
        table_cleanup_interval=600.0,
        logging_config=None,
    )
    register_agents(app, settings)
    if settings.web_enabled:  # issue 7: POST /articles
        from pipeline.worker.http import register_http

        register_http(app, settings)
    faust_fixes.set_fetch_max_wait(settings.fetch_max_wait_ms)
    faust_fixes.guard_acks_across_rebalances()
    faust_fixes.hold_flow_while_recovery_seeks()
    return app


def register_agents(app: faust.App, settings: Settings) -> None:
    if settings.noop:
        register_noop_agents(app, settings)
        return
    parts = topic_partitions(settings)

    def topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
                         partitions=parts[name])

    raw_t, parsed_t, unique_t = topic(topics.RAW), topic(topics.PARSED), topic(topics.UNIQUE)
    normalized_t, tagged_t, enriched_t = topic(topics.NORMALIZED), topic(topics.TAGGED), topic(topics.ENRICHED)
    dup_t, dlq_t = topic(topics.DUPLICATES), topic(topics.DLQ)

    index = app.Table(
        "dedup-index", default=None, partitions=parts[topics.PARSED],
        schema=faust.Schema(key_serializer="json", value_serializer="json"), help="dedup fingerprint -> first copy",
    )
    from pipeline.stages.dedup.index import TableDedupIndex

    dedup_index = TableDedupIndex(index, window_s=settings.dedup_window_days * 86400.0,
                                  sweep_interval_s=settings.dedup_sweep_interval_s)

    @index.on_recover
    async def _dedup_index_recovered() -> None:
        # the table was (re)filled from its changelog: rebuild the LSH buckets from it on next use
        kinds: dict[str, int] = {}
        for key in list(index.keys()):
            kinds[str(key)[:2]] = kinds.get(str(key)[:2], 0) + 1
        log.info("dedup index: table recovered from its changelog (%d keys: %s)", len(index), kinds)
        dedup_index.invalidate()

    pipe = Pipeline(settings, index=dedup_index)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsflow-cpu")
    app.newsflow_pipeline = pipe  # type: ignore[attr-defined]

    faults = FaultInjector(settings.fault_inject)
    if faults:
        log.warning("fault injection is ON: %s", settings.fault_inject)

    async def to_dlq(err: StageError, payload: bytes, event=None, received_at=None) -> None:
        m = event.message if event is not None else None
        dl = dead_letter(err, payload, received_at=received_at,
                         source_topic=m.topic if m else None,
                         source_partition=m.partition if m else None,
                         source_offset=m.offset if m else None)
        log.warning("dead letter: %s", err)
        try:
            await dlq_t.send(key=(err.article_id or err.origin).encode(), value=encode(dl))
        except Exception:  # noqa: BLE001
            # Cannot even dead-letter it: stop hard, before the offset of this input is committed, so it
            # is delivered again after the restart instead of being skipped (at-least-once, never a gap).
            log.critical("cannot write to %s; exiting so that the input is redelivered", topics.DLQ, exc_info=True)
            os._exit(70)

    def unexpected(stage: str, origin: str, exc: BaseException, article_id: str | None = None) -> StageError:
        """Any exception an agent did not expect becomes a StageError for this one article."""
        if isinstance(exc, StageError):
            return exc
        log.error("unexpected error in stage %s on %s", stage, origin, exc_info=exc)
        err = StageError(stage, origin, f"unexpected {type(exc).__name__}: {str(exc)[:500]}", article_id)
        err.__cause__ = exc
        return err

    async def decode_article(event, stage: str) -> Article | None:
        try:
            return decode(event.value, Article)
        except (ValueError, ValidationError) as exc:
            reason = f"record is not a valid article: {str(exc).splitlines()[0]}"
            await to_dlq(StageError(stage, _origin_of(event), reason), event.value or b"", event)
            return None

    @app.task
    async def warm_up() -> None:
        # Only the models this process uses: a parse/dedup worker needs none, and with the tagger in its
        # own process (tag_in_process) loading spaCy here too would hold the GIL for nothing.
        stages = {"normalize", "tag", "enrich"} & set(settings.stages)
        if settings.tag_in_process:
            stages.discard("tag")
        if stages:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(executor, pipe.warm_up, stages)

    if settings.topic_check_interval_s > 0:
        watch = BrokerWatch(app, settings)

        @app.timer(settings.topic_check_interval_s)
        async def check_broker() -> None:
            """Topics gone (a broker that lost its data, like the memory-only embedded one after a restart):
            create them again and read them from the start (pipeline/brokers/embedded_recovery.py)."""
            await watch.tick()

    # Every agent body below is guarded: an exception on one article (a StageError, a bug, an injected
    # fault) sends that article to news.dlq with the stage, the error and the stage's input, and the
    # stream goes on. Faust would otherwise restart the agent and ack the event: a silent skip.

    if "parse" in settings.stages:
        @app.agent(raw_t, name="newsflow.parse")
        async def parse_agent(stream):
            async for event in stream.events():
                origin, payload, received = _origin_of(event), event.value or b"", None
                try:
                    raw = raw_from_message(event.value, origin)
                    origin, received = raw.origin, raw.received_at
                    payload = raw.payload_bytes()
                    faults.check("parse", payload)
                    art = pipe.parse(raw)
                    await parsed_t.send(key=partition_key(art), value=encode(art))
                except Exception as exc:  # noqa: BLE001
                    await to_dlq(unexpected("parse", origin, exc), payload, event, received)

    def simple_agent(stage: str, in_t, run_one):
        async def agent(stream):
            async for event in stream.events():
                art = await decode_article(event, stage)
                if art is None:
                    continue
                try:
                    faults.check(stage, art.title, art.body)
                    await run_one(art)
                except Exception as exc:  # noqa: BLE001
                    await to_dlq(unexpected(stage, art.origin, exc, art.id), event.value, event)
        agent.__name__ = f"{stage}_agent"
        agent.__qualname__ = agent.__name__
        return app.agent(in_t, name=f"newsflow.{stage}")(agent)

    if "dedup" in settings.stages:
        async def dedup_one(art: Article) -> None:
            res = pipe.dedup(art)
            out_t = dup_t if res.is_duplicate else unique_t
            await out_t.send(key=art.id.encode(), value=encode(res.article))
            if dedup_index.sweep_due():  # table deletes must happen inside stream iteration
                try:
                    dedup_index.sweep()
                except Exception:  # noqa: BLE001 - expiry failing must not stop the stage
                    log.exception("dedup index: sweep failed")

        simple_agent("dedup", parsed_t, dedup_one)

    if "normalize" in settings.stages:
        async def normalize_one(art: Article) -> None:
            await normalized_t.send(key=art.id.encode(), value=encode(pipe.normalize(art)))

        simple_agent("normalize", unique_t, normalize_one)

    def batch_agent(stage: str, in_t, out_t, run_batch, call=None):
        """Batches of articles through ``run_batch`` in the CPU thread (or through ``call``, an async
        function of the batch); one article's failure stays its own."""

        async def agent(stream):
            loop = asyncio.get_running_loop()
            wait = max(settings.tag_batch_wait_s, 0.001)
            async for values in stream.take(settings.tag_batch_size, within=wait):
                arts: list[tuple[Article, bytes]] = []
                for v in values:
                    try:
                        art = decode(v, Article)
                    except (ValueError, ValidationError) as exc:
                        reason = f"record is not a valid article: {str(exc).splitlines()[0]}"
                        await to_dlq(StageError(stage, in_t.get_topic_name(), reason), v or b"")
                        continue
                    try:
                        faults.check(stage, art.title, art.body)
                    except Exception as exc:  # noqa: BLE001
                        await to_dlq(unexpected(stage, art.origin, exc, art.id), v)
                        continue
                    arts.append((art, v))
                if not arts:
                    continue
                run = call or (lambda batch: loop.run_in_executor(executor, run_batch, batch))
                try:
                    results = await run([a for a, _ in arts])
                except Exception:  # noqa: BLE001 - the batch failed as a whole: one by one, to find the culprit
                    results = []
                    for a, _ in arts:
                        try:
                            results.append((await run([a]))[0])
                        except Exception as exc:  # noqa: BLE001
                            results.append(unexpected(stage, a.origin, exc, a.id))
                for (art, v), res in zip(arts, results):
                    try:
                        if isinstance(res, BaseException):
                            raise res
                        await out_t.send(key=art.id.encode(), value=encode(res))
                    except Exception as exc:  # noqa: BLE001
                        await to_dlq(unexpected(stage, art.origin, exc, art.id), v)

        agent.__name__ = f"{stage}_agent"
        agent.__qualname__ = agent.__name__
        return app.agent(in_t, name=f"newsflow.{stage}")(agent)

    if "tag" in settings.stages:
        call = None
        if settings.tag_in_process:  # issue #5: the model runs in a child process with its own GIL
            from pipeline.stages.tag import process as tag_process

            tag_executor = tag_process.make_executor(settings)

            async def call(batch: list[Article]) -> list:
                return await tag_process.tag_batch(asyncio.get_running_loop(), tag_executor, batch,
                                                   settings.tag_processes)

        batch_agent("tag", normalized_t, tagged_t, pipe.tag_batch, call)

    if "enrich" in settings.stages:
        def enrich_many(arts: list[Article]) -> list:
            out = []
            for a in arts:
                try:
                    out.append(pipe.enrich(a))
                except StageError as err:
                    out.append(err)
            return out

        batch_agent("enrich", tagged_t, enriched_t, enrich_many)


# issue 9 (benchmark): the no-op pipeline
def register_noop_agents(app: faust.App, settings: Settings) -> None:
    """Benchmark/diagnostic mode (``noop = true``): one agent per stage forwards each record, key and
    value bytes untouched, from the stage's input topic to its output topic. Same topics, partitions
    and hops as the real pipeline (5 consume->produce hops from news.raw to news.enriched), no stage
    work, so ``newsflow bench`` can compare it hop for hop with a raw aiokafka loop."""
    parts = topic_partitions(settings)

    def topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
                         partitions=parts[name])

    def forwarder(stage: str, src: faust.TopicT, dst: faust.TopicT) -> None:
        async def forward(stream):
            async for event in stream.events():
                await dst.send(key=event.key, value=event.value)

        forward.__name__ = f"noop_{stage}"
        app.agent(src, name=f"newsflow.noop.{stage}")(forward)

    for stage, (src, dst) in topics.STAGE_TOPICS.items():
        if stage in settings.stages:
            forwarder(stage, topic(src), topic(dst))
