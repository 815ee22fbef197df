"""docker-compose.yml cannot be run here (no Docker engine); check it is consistent instead."""

from pathlib import Path

import yaml

from pipeline.brokers.kafka import kafka_version
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
        assert s["image"] == f"apache/kafka:{kafka_version()}"  # the version the tests run (deploy/kafka/pom.xml)
        assert "healthcheck" in s
    init = services["topics"]
    assert set(init["depends_on"]) >= set(kafka)
    workers = [services[n] for n in services if n.startswith("worker")]
    assert len(workers) >= 2
    for worker in workers:
        assert worker["build"]["context"] == "." and worker["build"]["dockerfile"] == "deploy/Dockerfile"
        assert "topics" in worker["depends_on"] and "healthcheck" in worker
        assert env_of(worker)["NEWSFLOW_WEB_HOST"] == "0.0.0.0"  # reachable from other containers
    assert (ROOT / "deploy" / "Dockerfile").is_file()
    assert "HEALTHCHECK" in (ROOT / "deploy" / "Dockerfile").read_text()
    # one state volume per worker replica
    volumes = [v.split(":")[0] for w in workers for v in w["volumes"]]
    assert len(volumes) == len(set(volumes)) == len(workers) and set(volumes) <= set(c["volumes"])


def test_postgres_and_a_sink_service_with_health_checks():
    services = load()["services"]
    assert "healthcheck" in services["postgres"]
    sink = services["sink"]
    assert sink["command"][:3] == ["newsflow", "sink", "postgres"]
    assert sink["depends_on"]["postgres"]["condition"] == "service_healthy"
    dsn = env_of(sink)["NEWSFLOW_POSTGRES_DSN"]
    assert "@postgres:5432/" in dsn and env_of(services["postgres"])["POSTGRES_DB"] == dsn.rsplit("/", 1)[1]


def test_docker_compose_itself_validates_the_file():
    """Debian's docker-compose 1.29 checks the file against the compose schema (no engine needed)."""
    import shutil
    import subprocess

    from tests.services import skip_or_fail

    exe = shutil.which("docker-compose")
    if not exe:
        skip_or_fail("docker-compose is not installed (apt-get install docker-compose; deploy/ci/tools.sh)")
    done = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_worker_environment_is_read_by_settings():
    c = load()
    env = env_of(c["services"]["worker1"])
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
