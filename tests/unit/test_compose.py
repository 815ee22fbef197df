"""docker-compose.yml cannot be run here (no Docker engine); check it is consistent instead."""

from pathlib import Path

import yaml

from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def load():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_of(service: dict) -> dict:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def test_three_kraft_brokers_topic_init_and_workers():
    c = load()
    services = c["services"]
    kafka = {n: s for n, s in services.items() if n.startswith("kafka")}
    assert len(kafka) == 3
    voters = {env_of(s)["KAFKA_CONTROLLER_QUORUM_VOTERS"] for s in kafka.values()}
    assert len(voters) == 1
    node_ids = {env_of(s)["KAFKA_NODE_ID"] for s in kafka.values()}
    assert len(node_ids) == 3
    for s in kafka.values():
        assert "apache/kafka" in s["image"]
        e = env_of(s)
        assert "broker" in e["KAFKA_PROCESS_ROLES"] and "controller" in e["KAFKA_PROCESS_ROLES"]
        assert e["CLUSTER_ID"] == env_of(next(iter(kafka.values())))["CLUSTER_ID"]
        for voter in e["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","):
            host = voter.split("@")[1].split(":")[0]
            assert host in services
    init = services["topics"]
    assert set(init["depends_on"]) >= set(kafka)
    worker = services["worker"]
    assert worker["build"]["context"] == "." and worker["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (ROOT / "deploy" / "Dockerfile").is_file()
    assert "topics" in worker["depends_on"]


def test_worker_environment_is_read_by_settings():
    c = load()
    env = env_of(c["services"]["worker"])
    known = {f"NEWSFLOW_{name.upper()}" for name in Settings.model_fields}
    for key in env:
        assert key in known, f"{key} is not a newsflow setting"
    brokers = env["NEWSFLOW_BROKER"].split(",")
    for b in brokers:
        host, port = b.split(":")
        assert host in c["services"]
        assert port in env_of(c["services"][host])["KAFKA_LISTENERS"]
    s = Settings(**{k.removeprefix("NEWSFLOW_").lower(): v for k, v in env.items()})
    assert s.replication_factor == 3
