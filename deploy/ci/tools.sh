#!/usr/bin/env bash
# The other programs the tests use, from Debian's packages where missing: kcat (a foreign Kafka client),
# docker-compose (validates docker-compose.yml; no engine runs here), and Java 17 + Maven for the local
# Apache Kafka (pipeline/brokers/kafka.py; the jars themselves come from Maven Central: `make kafka`); and for the
# operations tests (issue 21) Prometheus (it scrapes a real worker's /metrics) and Chromium (the dashboard, driven
# headless by Playwright with this executable). Nothing is started here: each test starts its own server on a free
# port (where systemd runs, the Debian prometheus package starts a service of its own; the tests do not use it).
# Idempotent; needs root (CI and the developers' machines run as root).
set -euo pipefail

need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "tools ready: $(kcat -V 2>&1 | head -n 1); $(docker-compose version --short 2>&1); $(java -version 2>&1 | head -n 1); $(prometheus --version 2>&1 | head -n 1); $(command -v chromium)"
