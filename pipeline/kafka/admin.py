"""Admin calls, all through aiokafka's public admin client: topics, partitions, the cluster, groups."""

from __future__ import annotations

import asyncio
import difflib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from pipeline import topics
from pipeline.errors import ConfigError
from pipeline.kafka.clients import max_message_bytes, start_with_retry
from pipeline.settings import Settings


def admin_client(settings: Settings, timeout: float = 30.0) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**settings.kafka_client_kwargs(), request_timeout_ms=int(timeout * 1000))


def topic_partitions(settings: Settings) -> dict[str, int]:
    """news.parsed and news.unclustered have one partition: the dedup and the stories stages are single
    writers of their state (README, "Deduplication", "Stories")."""
    parts = {t: settings.partitions for t in topics.ALL_TOPICS}
    parts[topics.PARSED] = 1
    parts[topics.UNCLUSTERED] = 1
    return parts


async def ensure_topics(settings: Settings, timeout: float = 30.0,
                        extra: dict[str, tuple[int, dict[str, str]]] | None = None) -> list[str]:
    """Create every newsflow topic that does not exist yet; returns the names it created.

    ``extra``: more topics, name -> (partitions, topic configs), e.g. the worker's table changelogs.
    """
    admin = admin_client(settings, timeout)
    try:
        await start_with_retry(admin.start, settings, timeout)
        existing = set(await admin.list_topics())
        specs = {name: (n, {"max.message.bytes": str(max_message_bytes(settings))})
                 for name, n in topic_partitions(settings).items()}
        # a story's latest state is all a reader needs: compacted, keyed by story id
        specs[topics.STORIES][1]["cleanup.policy"] = "compact"
        specs.update(extra or {})
        wanted: list[NewTopic] = []
        if missing := {name: spec for name, spec in specs.items() if name not in existing}:
            # the cluster is asked for its size only when a topic is to be made
            replicas = settings.replication_factor or await _default_replicas(admin)
            wanted = [NewTopic(name, num_partitions=n, replication_factor=replicas, topic_configs=cfg)
                      for name, (n, cfg) in missing.items()]
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        # topics just created, and those of a broker just restarted, may not have their leaders yet
        await _wait_for_leaders(admin, list(specs), timeout)
        return [t.name for t in wanted]
    finally:
        await admin.close()



async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], timeout: float) -> None:
    """Until every partition of ``names`` has a leader: Kafka answers a topic's creation before electing them, a
    restarted broker serves after recovering its logs, and a client in between gets NotLeaderForPartition."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        described = await admin.describe_topics(names)
        if len(described) == len(names) and all(
                t.get("error_code", 0) == 0 and t.get("partitions")
                and all(p.get("leader", -1) >= 0 for p in t["partitions"]) for t in described):
            return
        if loop.time() > deadline:
            raise ConfigError(f"the broker elected no leader for some partitions of {', '.join(names)} "
                              f"within {timeout:.0f} s")
        await asyncio.sleep(0.1)


async def _default_replicas(admin: AIOKafkaAdminClient) -> int:
    """3 replicas, or one per broker where the cluster has fewer (a local 1-node Kafka, the embedded broker)."""
    return max(1, min(3, len((await admin.describe_cluster()).get("brokers") or ())))


async def with_replication(settings: Settings, timeout: float = 30.0) -> Settings:
    """``settings`` with ``replication_factor`` decided (the setting, else ``_default_replicas``): the worker's
    Faust app creates its changelog topics with it."""
    if settings.replication_factor:
        return settings
    admin = admin_client(settings, timeout)
    try:
        await start_with_retry(admin.start, settings, timeout)
        replicas = await _default_replicas(admin)
    finally:
        await admin.close()
    return settings.model_copy(update={"replication_factor": replicas})


async def partition_ids(settings: Settings, topic: str, wait_s: float = 10.0) -> list[int]:
    """The partitions of ``topic``, waiting up to ``wait_s`` for a topic just created to show them.

    Only an existing topic is described, so a broker that creates topics on a metadata request
    (``auto.create.topics.enable``) never creates one here."""
    admin = admin_client(settings)
    await start_with_retry(admin.start, settings)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            if topic in await admin.list_topics():
                for t in await admin.describe_topics([topic]):
                    parts = sorted(p["partition"] for p in t.get("partitions") or ())
                    if t.get("topic") == topic and parts:
                        return parts
            if loop.time() > deadline:
                raise ConfigError(f"topic {topic} does not exist on the broker (or has no partitions)")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def topic_names(settings: Settings) -> list[str]:
    """The topics the broker has (a metadata request for all topics, which creates none)."""
    admin = admin_client(settings)
    await start_with_retry(admin.start, settings)
    try:
        return await admin.list_topics()
    finally:
        await admin.close()


async def topic_exists(settings: Settings, topic: str) -> bool:
    return topic in await topic_names(settings)


async def require_topic(settings: Settings, topic: str) -> None:
    """ConfigError unless ``topic`` exists: a command that only reads a topic never creates it (a consumer's
    metadata request would, on a broker that creates topics on first use), and a misspelt name is an error."""
    existing = await topic_names(settings)
    if topic in existing:
        return
    if topic in topics.ALL_TOPICS:
        raise ConfigError(f"topic {topic} does not exist on the broker at {settings.broker} yet: start a worker "
                          "or run `newsflow topics` first")
    near = difflib.get_close_matches(topic, sorted(set(existing) | set(topics.ALL_TOPICS)), n=1)
    raise ConfigError(f"no topic {topic!r} on the broker at {settings.broker}"
                      + (f" (did you mean {near[0]}?)" if near else ""))


async def cluster_id(settings: Settings, timeout: float = 5.0) -> str | None:
    admin = admin_client(settings, timeout)
    try:
        await admin.start()
        info = await admin.describe_cluster()
        return info.get("cluster_id")
    finally:
        await admin.close()


async def group_members(settings: Settings, group_id: str) -> int | None:
    """How many live members the group has (None: the broker would not say)."""
    admin = admin_client(settings)
    await start_with_retry(admin.start, settings)
    try:
        resp = await admin.describe_consumer_groups([group_id])
    except Exception:  # noqa: BLE001
        return None
    finally:
        await admin.close()
    try:
        for r in resp:
            for g in r.groups:
                # (error_code, group_id, state, protocol_type, protocol, members, [authorized_operations])
                state, members = g[2], g[5]
                if state in ("Dead", "Empty", ""):
                    return 0
                return len(members)
    except (AttributeError, IndexError, TypeError):
        return None
    return 0


async def delete_topics(settings: Settings, timeout: float = 60.0) -> list[str]:
    """Delete every topic but the broker's own (``__consumer_offsets``, ``__transaction_state``) and wait until
    they are gone: a clean cluster for the next test or benchmark phase without restarting it. Returns the names."""
    admin = admin_client(settings, timeout)
    await start_with_retry(admin.start, settings, timeout)
    deleted: set[str] = set()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while names := [t for t in await admin.list_topics() if not t.startswith("__")]:
            if loop.time() > deadline:
                raise ConfigError(f"topics not deleted within {timeout:.0f} s: {', '.join(names)}")
            await admin.delete_topics(names)
            deleted.update(names)
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    return sorted(deleted)
