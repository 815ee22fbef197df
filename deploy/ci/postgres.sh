#!/usr/bin/env bash
# The PostgreSQL the tests talk to: installed from Debian's packages where it is missing, started, the
# tests' connection (user postgres over TCP on 127.0.0.1, no password) allowed, and the `test` database
# created. Idempotent: a second call only checks. Needs root (CI and the developers' machines run as root).
set -euo pipefail

if ! command -v pg_lsclusters >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi

# The newest installed cluster (Debian's package creates one, "main", on install).
read -r ver name port status _ < <(pg_lsclusters --no-header | sort -k1,1n | tail -n 1) || true
if [ -z "${ver:-}" ]; then
    ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    pg_createcluster "$ver" main >/dev/null
    read -r ver name port status _ < <(pg_lsclusters --no-header | sort -k1,1n | tail -n 1) || true
fi
[ "$port" = 5432 ] || { echo "postgres.sh: cluster $ver/$name listens on $port, the tests expect 5432" >&2; exit 1; }

hba=/etc/postgresql/$ver/$name/pg_hba.conf
rule="host    test            postgres        127.0.0.1/32            trust"
if ! grep -qF "$rule" "$hba"; then
    # first matching line wins in pg_hba.conf: the tests' rule goes on top
    { echo "# newsflow tests (deploy/ci/postgres.sh)"; echo "$rule"; cat "$hba"; } > "$hba.new"
    mv "$hba.new" "$hba"
    chown postgres:postgres "$hba"
    [ "$status" = online ] && pg_ctlcluster "$ver" "$name" reload
fi
[ "$status" = online ] || pg_ctlcluster "$ver" "$name" start

for _ in $(seq 1 30); do
    su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
    sleep 1
done
su postgres -c "psql -qAtc \"select 1 from pg_database where datname = 'test'\"" | grep -q 1 \
    || su postgres -c "createdb test"
echo "PostgreSQL $ver ready: postgresql://postgres@127.0.0.1:5432/test"
