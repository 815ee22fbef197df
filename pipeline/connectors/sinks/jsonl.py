"""JSONL files sink: one article per line, files rotated by size (and optionally pruned).

The file being written is ``PREFIX-YYYYmmddTHHMMSSZ-NNNN.jsonl.part``; it is renamed to ``.jsonl``
when it is rotated or the sink closes, so a reader can take every ``*.jsonl`` as complete. A ``.part``
file left by a crash is renamed when the sink starts again.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from pipeline.errors import ConfigError
from pipeline.kafka.wire import encode
from schemas import EnrichedArticle


class JsonlSink:
    def __init__(self, directory: str | Path, *, prefix: str = "news.enriched", max_bytes: int = 64 * 1024 * 1024,
                 keep: int | None = None):
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.dir = Path(directory)
        if self.dir.exists() and not self.dir.is_dir():
            raise ConfigError(f"sink directory {self.dir} is a file, not a directory")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the sink directory {self.dir}: {exc.strerror or exc}") from None
        self.prefix, self.max_bytes, self.keep = prefix, max_bytes, keep
        self._seq = 0
        self._file = None
        self._path: Path | None = None
        self._size = 0
        for left in sorted(self.dir.glob(f"{prefix}-*.jsonl.part")):
            left.rename(left.with_suffix(""))

    def _open(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        while True:
            self._seq += 1
            path = self.dir / f"{self.prefix}-{stamp}-{self._seq:04d}.jsonl.part"
            if not path.exists() and not path.with_suffix("").exists():
                break
        self._path, self._file, self._size = path, open(path, "ab"), 0

    def _finish(self) -> None:
        if self._file is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._path.rename(self._path.with_suffix(""))
        self._file = None
        if self.keep:
            done = sorted(self.dir.glob(f"{self.prefix}-*.jsonl"))
            for old in done[: max(0, len(done) - self.keep)]:
                old.unlink()

    def write(self, batch: Sequence[EnrichedArticle]) -> None:
        for article in batch:
            line = encode(article) + b"\n"
            if self._file is not None and self._size and self._size + len(line) > self.max_bytes:
                self._finish()
            if self._file is None:
                self._open()
            self._file.write(line)
            self._size += len(line)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._finish()

    def files(self) -> list[Path]:
        return sorted(self.dir.glob(f"{self.prefix}-*.jsonl"))
