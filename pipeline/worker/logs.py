"""The worker's log lines (issue 21): plain text, or one JSON object a line (``--log-format json``).

A JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, and every field a
record-level line passes in ``extra``: ``stage``, ``article_id`` and ``origin`` (dead letters, unexpected
errors), ``broker``/``group``/``stages``/``partitions`` (the ready line). A traceback goes in ``exc``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import orjson

#: the ``extra`` fields copied into a JSON line when a record carries them
FIELDS = ("stage", "article_id", "origin", "broker", "group", "stages", "partitions")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for name in FIELDS:
            if name in record.__dict__:
                doc[name] = record.__dict__[name]
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure(level: str, fmt: str = "text") -> None:
    """The root logger's one handler (stderr) in ``fmt``; replaces any handler set before."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
