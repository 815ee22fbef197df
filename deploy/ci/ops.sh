#!/usr/bin/env bash
# The servers the operations tests (issue 21) talk to, from Debian's packages where missing: Prometheus (it
# scrapes a real worker's /metrics; tests/integration/test_prometheus.py) and Chromium (the live dashboard
# driven headless by Playwright with this executable; tests/integration/test_dashboard.py). Nothing is
# started here: each test starts its own server on a free port. Idempotent; needs root.
set -euo pipefail

need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # the Debian package starts a Prometheus service (and node exporter) where systemd runs; the tests do not use it
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "ops tools ready: $(prometheus --version 2>&1 | head -n 1); $(chromium --version 2>&1 | head -n 1)"
