"""What the training scripts share: the repository root on ``sys.path``, the seed, the development split."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 24
DEV_SHARE = 0.2


def split(items: list[dict], key: str = "label") -> tuple[list[dict], list[dict]]:
    """(train, dev): a stratified ``DEV_SHARE`` of each class to dev, reproducibly (``SEED``)."""
    rng = np.random.default_rng(SEED)
    train, dev = [], []
    for label in sorted({it[key] for it in items}):
        exs = [it for it in items if it[key] == label]
        order = rng.permutation(len(exs))
        n_dev = int(round(DEV_SHARE * len(exs)))
        dev += [exs[i] for i in order[:n_dev]]
        train += [exs[i] for i in order[n_dev:]]
    return train, dev


def write_jsonl_gz(path: Path, rows: list[dict]) -> None:
    """Rows as gzipped JSON lines, byte for byte the same on every run (no time stamp)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        for row in rows:
            f.write((json.dumps(row) + "\n").encode())
