"""Built-in enrichers, one module each; importing this package registers them in order."""

from pipeline.stages.enrich.registry import REGISTRY, Enricher, enricher  # noqa: F401
from pipeline.stages.enrich import (  # noqa: E402,F401  (registration order = run order)
    language,
    stats,
    places,
    quotes,
    sentiment,
    keywords,
    categories,
    summary,
)

__all__ = ["REGISTRY", "Enricher", "enricher"]
