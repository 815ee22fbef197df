"""Fault tests run only when asked for (``-m chaos``, ``make chaos``): they take minutes, not seconds."""

from __future__ import annotations

import pytest

from tests.chaos.ground_truth import GroundTruthTable
from tests.services import postgres_or_skip


def pytest_collection_modifyitems(config, items):
    if "chaos" in (config.getoption("-m") or ""):
        return
    keep = [i for i in items if i.get_closest_marker("chaos") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i.get_closest_marker("chaos") is not None])
        items[:] = keep


@pytest.fixture
def pg_table(request):
    conn = postgres_or_skip()
    table = GroundTruthTable(conn, f"chaos_{request.node.name[:40].lower()}")
    yield table
    conn.close()
