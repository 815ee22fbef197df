"""Record models of every newsflow topic, and their exported JSON Schema.

One pydantic v2 model per topic record. The JSON Schema files in ``schemas/json/`` are generated from
these models by ``newsflow schemas export`` and checked against them by the test suite, so a
downstream consumer in any language can validate what it reads.

Versioning: ``SCHEMA_VERSION`` is bumped whenever a field is removed or retyped (a breaking change).
Adding an optional field is backward compatible and keeps the version.
"""

from schemas.records import (
    SCHEMA_VERSION,
    TOPIC_RECORDS,
    Article,
    Category,
    Correction,
    DeadLetter,
    DuplicateArticle,
    EnrichedArticle,
    EnrichmentError,
    Entity,
    EntitySentiment,
    Mention,
    Place,
    Quote,
    RawArticle,
    Sentiment,
    Story,
    StoryLink,
    StoryMember,
    StoryTerm,
)

__all__ = [
    "SCHEMA_VERSION", "TOPIC_RECORDS", "Article", "Category", "Correction", "DeadLetter", "DuplicateArticle",
    "EnrichedArticle", "EnrichmentError", "Entity", "EntitySentiment", "Mention", "Place", "Quote", "RawArticle",
    "Sentiment", "Story", "StoryLink", "StoryMember", "StoryTerm",
]
