"""Errors that carry the stage and the article they happened on."""

from __future__ import annotations


class NewsflowError(Exception):
    """Base of the errors newsflow raises on purpose."""


class ConfigError(NewsflowError):
    """Bad settings or command-line input: reported as one line, never as a traceback."""


class StageError(NewsflowError):
    """A stage could not process one article. The article goes to ``news.dlq`` with this reason."""

    def __init__(self, stage: str, origin: str, reason: str, article_id: str | None = None):
        self.stage = stage
        self.origin = origin
        self.reason = reason
        self.article_id = article_id
        super().__init__(f"{stage}: {origin}: {reason}")

    def __reduce__(self):
        # picklable, for the tag stage's child processes; like any pickled exception it loses its __cause__
        return (type(self), (self.stage, self.origin, self.reason, self.article_id))


class RejectedInput(StageError):
    """The input itself is unusable (empty, binary, invalid JSON, too large...): a user mistake."""
