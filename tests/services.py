"""The servers the tests talk to besides the broker: PostgreSQL (deploy/ci/postgres.sh installs and starts it).

Without the server a test that needs it is skipped, saying why; under CI (``CI`` set) it fails instead, so a
green CI run always means the PostgreSQL and fault tests ran.
"""

from __future__ import annotations

import os

import pytest

#: the tests' database; NEWSFLOW_TEST_PG_DSN is the name the fault tests read before the two were merged
PG_DSN = (os.environ.get("NEWSFLOW_TEST_POSTGRES_DSN") or os.environ.get("NEWSFLOW_TEST_PG_DSN")
          or "postgresql://postgres@127.0.0.1:5432/test")


def skip_or_fail(reason: str):
    """Skip the test, or fail it under CI: there a missing server is a broken set-up, not a choice."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping: .ci/run installs and starts it)",
                    pytrace=False)
    pytest.skip(reason)


def postgres_or_skip():
    """An autocommit psycopg connection to the test database, or a skip (a failure under CI) saying why."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - it is in the test extras
        skip_or_fail("psycopg is not installed (pip install -e '.[test]')")
    try:
        return psycopg.connect(PG_DSN, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        skip_or_fail(f"PostgreSQL at {PG_DSN} is unreachable ({str(exc).strip().splitlines()[0]}); "
                     "run deploy/ci/postgres.sh or set NEWSFLOW_TEST_POSTGRES_DSN")
