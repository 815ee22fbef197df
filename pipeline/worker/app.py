"""The worker: the Faust app, its agents (``pipeline.worker.agents``) and what runs beside them.

``create_app`` builds one ``faust.App`` from the settings: Faust's fixes (``pipeline.faust_fixes``) through
its transport and table-manager extension points, the dedup stage's table, one agent per stage, the
HTTP ingest (``pipeline.worker.http``) when ``web_enabled``, and, only where the settings ask for it (the
embedded broker's profile does), the topic watch of ``pipeline.brokers.embedded_recovery``.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import faust

from pipeline import faust_fixes, topics
from pipeline.kafka.admin import topic_partitions
from pipeline.kafka.clients import max_message_bytes
from pipeline.settings import Settings
from pipeline.stages.chain import Pipeline
from pipeline.worker.agents import register_agents, register_noop_agents

log = logging.getLogger("newsflow.worker")


def credentials(settings: Settings):
    """Faust's form of the connection's TLS/SASL settings (None for PLAINTEXT)."""
    if settings.security_protocol == "PLAINTEXT":
        return None
    from faust.auth import SASLCredentials, SSLCredentials

    ssl_ctx = settings.kafka_client_kwargs().get("ssl_context")
    if settings.security_protocol.startswith("SASL"):
        return SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value() if settings.sasl_password else None,
            mechanism=settings.sasl_mechanism, ssl_context=ssl_ctx,
        )
    return SSLCredentials(ssl_ctx)


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        **faust_fixes.app_options(settings.bootstrap_servers),
        broker_credentials=credentials(settings),
        key_serializer="raw",
        value_serializer="raw",
        store=settings.store,
        datadir=str(settings.data_dir / settings.app_id),
        topic_partitions=settings.partitions,
        # decided before the app is made (pipeline.kafka.admin.with_replication); 1 where nobody did
        topic_replication_factor=settings.replication_factor or 1,
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_request_timeout=max(settings.session_timeout_s + 5, 40.0),
        producer_max_request_size=max_message_bytes(settings),
        producer_max_batch_size=settings.producer_max_batch_bytes,
        producer_linger=settings.producer_linger_ms / 1000.0,
        producer_acks=-1,  # acks=all, always: written means on every in-sync replica
        producer_compression_type=None if settings.producer_compression == "none" else settings.producer_compression,
        broker_max_poll_records=settings.consumer_max_poll_records,
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
        broker_commit_interval=settings.commit_interval_s,
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
    app.newsflow_settings = settings  # type: ignore[attr-defined] - read by the Faust fixes (fetch wait)
    ops = register_ops(app, settings)  # issue 21: metrics, readiness, the ready line
    if settings.noop:
        register_noop_agents(app, settings)
    else:
        agents = register_stages(app, settings, ops)
        agents.metrics = ops.metrics
    if settings.web_enabled:  # issue 7: POST /articles
        from pipeline.worker.http import register_http

        register_http(app, settings)
        from pipeline.worker.http import register_ops_http

        register_ops_http(app)
    app.newsflow_broker_watch = None  # type: ignore[attr-defined]
    if settings.topic_check_interval_s > 0:  # on by default only on the embedded broker
        from pipeline.brokers.embedded_recovery import register_broker_watch

        app.newsflow_broker_watch = register_broker_watch(app, settings)  # type: ignore[attr-defined]
    return app


def sweep_when_due(index, what: str) -> Callable[[], None]:
    """What a stage's agent calls after each record: the index's expiry when it is due. Table deletes must happen
    inside the stream iteration, hence here and not on a timer; a failing expiry is logged, never stops the stage."""
    def sweep_if_due() -> None:
        if index.sweep_due():
            try:
                index.sweep()
            except Exception:  # noqa: BLE001 - expiry failing must not stop the stage
                log.exception("%s: sweep failed", what)
    return sweep_if_due


def stories_table(app: faust.App, settings: Settings):
    """The stories stage's state: a Faust table on news.unclustered's single partition, its store rebuilt
    from the table after every recovery."""
    from pipeline.stages.stories.index import TableStoryIndex

    table = app.Table(
        "stories-index", default=None, partitions=topic_partitions(settings)[topics.UNCLUSTERED],
        schema=faust.Schema(key_serializer="json", value_serializer="json"), help="stories: articles and stories",
    )
    index = TableStoryIndex(table, window_s=settings.story_window_days * 86400.0,
                            sweep_interval_s=settings.stories_sweep_interval_s)

    @table.on_recover
    async def _stories_recovered() -> None:
        log.info("stories index: table recovered from its changelog (%d keys)", len(table))
        index.invalidate()

    return index


class Ops:
    """What the operations endpoints read (issue 21): the metrics, the readiness, the ready line."""

    def __init__(self, app: faust.App, settings: Settings):
        from pipeline.worker.metrics import MetricsSensor, Readiness, WorkerMetrics

        self.app, self.settings = app, settings
        models = {"normalize", "tag", "enrich"} & set(settings.stages)
        if settings.tag_in_process:
            models.discard("tag")
        self.metrics = WorkerMetrics()
        self.readiness = Readiness(needs_models=bool(models) and not settings.noop)
        self.metrics.live.consumer = lambda: app.consumer if app._consumer is not None else None
        self.metrics.info.labels(settings.app_id, ",".join(settings.stages)).set(1)
        app.sensors.add(MetricsSensor(self.metrics, self.readiness, self.changed))

    def changed(self) -> None:
        r = self.readiness
        self.metrics.ready.set(1 if r.ready else 0)
        if r.ready and not r.announced:
            r.announced = True
            parts = sorted(r.partitions, key=lambda tp: (tp.topic, tp.partition))
            by_topic: dict[str, list[int]] = {}
            for tp in parts:
                by_topic.setdefault(tp.topic, []).append(tp.partition)
            ready_log.info("worker ready: broker %s, group %s, stages %s, partitions %s", self.settings.broker,
                           self.settings.app_id, ",".join(self.settings.stages),
                           " ".join(f"{t}[{','.join(map(str, ps))}]" for t, ps in by_topic.items()) or "none",
                           extra={"broker": self.settings.broker, "group": self.settings.app_id,
                                  "stages": list(self.settings.stages),
                                  "partitions": {t: ps for t, ps in by_topic.items()}})


#: the one line a worker writes when it is ready, whatever the log level (logged at INFO on its own logger)
ready_log = logging.getLogger("newsflow.ready")
ready_log.setLevel(logging.INFO)


def register_ops(app: faust.App, settings: Settings) -> Ops:
    ops = Ops(app, settings)
    app.newsflow_ops = ops  # type: ignore[attr-defined]
    return ops


def register_stages(app: faust.App, settings: Settings, ops: Ops | None = None):
    """The stage agents, the dedup table behind the dedup stage, and the warm-up of the models."""
    from pipeline.stages.dedup.index import TableDedupIndex

    index = app.Table(
        "dedup-index", default=None, partitions=topic_partitions(settings)[topics.PARSED],
        schema=faust.Schema(key_serializer="json", value_serializer="json"), help="dedup fingerprint -> first copy",
    )
    dedup_index = TableDedupIndex(index, window_s=settings.dedup_window_days * 86400.0,
                                  sweep_interval_s=settings.dedup_sweep_interval_s,
                                  retention_s=settings.dedup_retention_days * 86400.0)

    @index.on_recover
    async def _dedup_index_recovered() -> None:
        # the table was (re)filled from its changelog: rebuild the LSH buckets from it on next use
        kinds: dict[str, int] = {}
        for key in list(index.keys()):
            kinds[str(key)[:2]] = kinds.get(str(key)[:2], 0) + 1
        log.info("dedup index: table recovered from its changelog (%d keys: %s)", len(index), kinds)
        dedup_index.invalidate()

    story_index = stories_table(app, settings)
    pipe = Pipeline(settings, index=dedup_index, story_index=story_index)
    cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsflow-cpu")
    app.newsflow_pipeline = pipe  # type: ignore[attr-defined]

    tag_runner = None
    if "tag" in settings.stages and settings.tag_in_process:  # issue #5: the model in child processes, own GILs
        from pipeline.stages.tag import process as tag_process

        tag_runner = tag_process.runner(settings)
        if ops is not None:
            ops.metrics.live.tag_executor = getattr(tag_runner, "executor", None)
            ops.metrics.live.tag_expected = settings.tag_processes

    agents = register_agents(app, settings, pipe, cpu, tag_runner=tag_runner,
                             after_dedup=sweep_when_due(dedup_index, "dedup index"),
                             after_stories=sweep_when_due(story_index, "stories index"))

    @app.task
    async def warm_up() -> None:
        # Only the models this process uses: a parse/dedup worker needs none, and with the tagger in its
        # own processes (tag_in_process) loading spaCy here too would hold the GIL for nothing.
        stages = {"normalize", "tag", "enrich"} & set(settings.stages)
        if settings.tag_in_process:
            stages.discard("tag")
        if stages:
            await asyncio.get_running_loop().run_in_executor(cpu, pipe.warm_up, stages)
        if ops is not None:
            ops.readiness.models_loaded = True
            ops.changed()

    return agents
