"""The enricher registry: each enricher is a small function that writes its own fields of the article.

An enricher is a function ``(article) -> dict of field updates``, registered with the fields it
writes. Add your own by decorating a function anywhere that is imported before the enrich stage runs::

    from pipeline.stages.enrich import enricher

    @enricher("paywall", ("skipped",))
    def paywall(article):
        ...
        return {"...": ...}

Enrichers run in registration order and see the fields earlier ones wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from schemas import Article


@dataclass(frozen=True)
class Enricher:
    name: str
    fields: tuple[str, ...]
    fn: Callable[[Article], dict[str, Any]]
    english_only: bool = False


REGISTRY: dict[str, Enricher] = {}


def enricher(name: str, fields: tuple[str, ...], *, english_only: bool = False):
    """Register ``fn`` as an enricher writing ``fields`` (``english_only``: skipped for other languages)."""

    def wrap(fn: Callable[[Article], dict[str, Any]]):
        REGISTRY[name] = Enricher(name, tuple(fields), fn, english_only)
        return fn

    return wrap
