"""Reading inputs (files, directories, JSON/JSONL, stdin) into ``RawArticle`` records, and publishing them.

A file is one article, except ``.jsonl`` (one per line) and a ``.json`` file holding an array (one per
element). Inputs that cannot even be read (missing file, over the size limit) come back as
``InputProblem`` so the caller can report them and send them to the DLQ; nothing is dropped silently.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import orjson

from schemas import RawArticle

SKIP_NAMES = {".DS_Store", "Thumbs.db"}
MEDIA_TYPES = {".json": "application/json", ".jsonl": "application/json", ".html": "text/html",
               ".htm": "text/html", ".txt": "text/plain", ".md": "text/plain"}
#: what a directory walk reads (a file named on the command line is read whatever its name)
ARTICLE_SUFFIXES = frozenset({*MEDIA_TYPES, ".xhtml", ".xml", ".text"})


@dataclass(frozen=True)
class InputProblem:
    origin: str
    reason: str
    payload: bytes = b""
    #: the whole input's size when ``payload`` is only its head
    size: int | None = None


def sample_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "samples"


def _origin(path: Path) -> str:
    return str(path.resolve())


@dataclass
class Skipped:
    """What a directory walk left out on purpose, reported by the commands (``lines``), never sent anywhere."""

    hidden: list[str] = field(default_factory=list)
    not_articles: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    linked_folders: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for what, paths in (("hidden folder(s) and file(s)", self.hidden),
                            (f"file(s) that are not articles by extension (articles: "
                             f"{' '.join(sorted(ARTICLE_SUFFIXES))})", self.not_articles),
                            ("symlink(s) pointing out of the folder, not followed", self.outside),
                            ("symlinked folder(s) inside it, not entered", self.linked_folders)):
            if paths:
                shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
                out.append(f"skipped {len(paths)} {what}: {shown}")
        return out


def iter_files(paths: Iterable[str | Path], skipped: Skipped | None = None) -> Iterator[Path | InputProblem]:
    """The files to read: a path named on its own is read whatever it is; a directory is walked for article
    files (``ARTICLE_SUFFIXES``), leaving out hidden folders and files, and symlinks that point out of it (a
    symlinked folder is not entered). What is left out is added to ``skipped``."""
    skipped = skipped if skipped is not None else Skipped()
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = list(_walk(path, skipped))
            if not files:
                yield InputProblem(str(path), "directory holds no article files")
            yield from files
        elif path.is_file():
            yield path
        elif path.exists():
            yield InputProblem(str(path), "not a regular file")
        else:
            yield InputProblem(str(path), "no such file or directory")


def _walk(root: Path, skipped: Skipped) -> Iterator[Path]:
    base = root.resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in list(dirnames):
            if d.startswith("."):
                skipped.hidden.append(str(here / d) + "/")
                dirnames.remove(d)
            elif (here / d).is_symlink():
                dirnames.remove(d)
                inside = _inside((here / d).resolve(), base)
                (skipped.linked_folders if inside else skipped.outside).append(f"{here / d}/ -> {os.readlink(here / d)}")
        for name in filenames:
            f = here / name
            if name.startswith(".") or name in SKIP_NAMES:  # dot files, .DS_Store, Thumbs.db
                skipped.hidden.append(str(f))
            elif f.is_symlink() and not _inside(f.resolve(), base):
                skipped.outside.append(f"{f} -> {os.readlink(f)}")
            elif f.suffix.lower() not in ARTICLE_SUFFIXES:
                skipped.not_articles.append(str(f))
            elif f.is_file():
                found.append(f)
    return iter(sorted(found))


def _inside(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


def _split_records(data: bytes, origin: str, suffix: str, received_at=None) -> Iterator[RawArticle]:
    media = MEDIA_TYPES.get(suffix)
    if suffix == ".jsonl":
        for n, line in enumerate(data.splitlines(), 1):
            if line.strip():
                yield RawArticle.from_bytes(line, f"{origin}#{n}", "application/json", received_at)
        return
    if suffix == ".json" and data.lstrip()[:1] == b"[":
        try:
            items = orjson.loads(data)
        except orjson.JSONDecodeError:
            items = None
        if isinstance(items, list):
            for n, item in enumerate(items, 1):
                yield RawArticle.from_bytes(orjson.dumps(item), f"{origin}#{n}", "application/json", received_at)
            return
    yield RawArticle.from_bytes(data, origin, media, received_at)


def read_inputs(paths: Iterable[str | Path], *, max_bytes: int, stdin: BinaryIO | None = None,
                skipped: Skipped | None = None) -> Iterator[RawArticle | InputProblem]:
    """Every input under ``paths`` ("-" is standard input) as a RawArticle or an InputProblem; what the
    directory walk left out is added to ``skipped``."""
    for p in paths:
        if str(p) == "-":
            stream = stdin or sys.stdin.buffer
            data = stream.read(max_bytes * 64 + 1)
            lines = [ln for ln in data.splitlines() if ln.strip()]
            if len(lines) > 1 and all(ln.lstrip()[:1] == b"{" for ln in lines):
                yield from _split_records(data, "stdin", ".jsonl")
            elif len(data) > max_bytes:
                yield InputProblem("stdin", f"payload of over {max_bytes:,} bytes is over the limit", data[:4096],
                                   size=len(data))
            else:
                yield RawArticle.from_bytes(data, "stdin")
            continue
        for item in iter_files([p], skipped):
            if isinstance(item, InputProblem):
                yield item
                continue
            suffix = item.suffix.lower()
            try:
                size = item.stat().st_size
                limit = max_bytes * 64 if suffix == ".jsonl" or suffix == ".json" else max_bytes
                if size > limit:
                    with item.open("rb") as f:
                        head = f.read(4096)
                    yield InputProblem(_origin(item), f"payload of {size:,} bytes is over the limit of {max_bytes:,}",
                                       head, size=size)
                    continue
                data = item.read_bytes()
            except OSError as exc:
                yield InputProblem(_origin(item), f"cannot read: {exc.strerror or exc}")
                continue
            yield from _split_records(data, _origin(item), suffix)
