"""Pydantic models of the records on every newsflow topic."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --------------------------------------------------------------------------------------------------
# news.raw
# --------------------------------------------------------------------------------------------------


class RawArticle(_Record):
    """An input exactly as it was received, before any parsing.

    ``payload`` keeps the received bytes untouched: as text when they are valid UTF-8, otherwise
    base64 (``payload_encoding="base64"``), so a better parser can be replayed over them later.
    Producers that cannot build this envelope may also write bare text, HTML or JSON to
    ``news.raw``; the parse stage then wraps it, with the topic/partition/offset as origin.
    """

    schema_version: int = SCHEMA_VERSION
    kind: Literal["newsflow.raw"] = "newsflow.raw"
    origin: str = Field(description="Where the input came from: file path, URL, stdin#N, or topic/partition@offset.")
    received_at: datetime = Field(default_factory=utcnow)
    media_type: str | None = Field(
        default=None, description="Hint: text/plain, text/html or application/json; None means sniff."
    )
    payload: str
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"

    @classmethod
    def from_bytes(
        cls, data: bytes, origin: str, media_type: str | None = None, received_at: datetime | None = None
    ) -> "RawArticle":
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, enc = base64.b64encode(data).decode("ascii"), "base64"
        return cls(
            origin=origin,
            media_type=media_type,
            payload=text,
            payload_encoding=enc,
            received_at=received_at or utcnow(),
        )

    def payload_bytes(self) -> bytes:
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload)
        return self.payload.encode("utf-8")


# --------------------------------------------------------------------------------------------------
# Parts of an article
# --------------------------------------------------------------------------------------------------


class Correction(_Record):
    """One change made by the normalize stage, with offsets into the normalized body (or title)."""

    original: str
    corrected: str
    start: int = Field(description="Start offset of `corrected` in the normalized field.")
    end: int = Field(description="End offset (exclusive) of `corrected` in the normalized field.")
    kind: str = Field(default="spelling", description="spelling, linebreak, hyphenation, glued, mojibake, symbol")
    field: Literal["title", "body"] = "body"


class Mention(_Record):
    text: str
    start: int
    end: int
    field: Literal["title", "body"] = "body"


class Entity(_Record):
    """A canonical entity of the article: all its mentions, ranked by salience.

    ``text``/``start``/``end`` are the first mention in the body (or the title when the entity occurs
    only there, with ``field="title"``).
    """

    text: str
    label: str = Field(description="OntoNotes label: PERSON, ORG, GPE, LOC, NORP, FAC, EVENT, DATE, ...")
    start: int
    end: int
    field: Literal["title", "body"] = "body"
    canonical: str | None = None
    count: int = 1
    salience: float = 0.0
    country_code: str | None = Field(default=None, description="ISO 3166-1 alpha-2 where the entity is a place")
    mentions: list[Mention] = Field(default_factory=list)


class Category(_Record):
    label: str
    score: float
    scheme: str = "iptc-mediatopic"
    id: str | None = Field(default=None, description="Code in the scheme, e.g. medtop:16000000")


class Sentiment(_Record):
    score: float = Field(ge=-1.0, le=1.0)
    label: Literal["negative", "neutral", "positive"]


class EntitySentiment(_Record):
    entity: str
    score: float
    label: Literal["negative", "neutral", "positive"]


class Place(_Record):
    name: str
    country_code: str | None = None
    count: int = 1
    geonames_id: int | None = Field(default=None, description="GeoNames id of the place it resolved to")
    latitude: float | None = Field(default=None, description="WGS84, for cities (GeoNames)")
    longitude: float | None = Field(default=None, description="WGS84, for cities (GeoNames)")


class Quote(_Record):
    text: str
    start: int
    end: int
    speaker: str | None = None
    speaker_text: str | None = None


class StoryTerm(_Record):
    """One piece of evidence that joined an article to its story: a person, place, organisation or word."""

    kind: Literal["who", "where", "what"]
    term: str = Field(description="The feature as compared: a name, a GeoNames id (g:2988507) or a word.")
    label: str = Field(default="", description="What it reads as: the name or word as the article wrote it.")
    weight: float = Field(default=0.0, description="Its specificity weight in the decision (0 = given no weight).")


class StoryLink(_Record):
    """How the stories stage placed the article: the story it joined (or started) and why."""

    story_id: str
    title: str = Field(default="", description="The story's title (its first article's title).")
    started: bool = Field(default=False, description="The article started a new story (nothing in the window matched).")
    score: float = Field(default=0.0, description="Similarity to the story it joined (0 when it started one).")
    kinds: list[str] = Field(default_factory=list, description="Which of who/where/what agreed.")
    matched: list[StoryTerm] = Field(default_factory=list, description="The shared features, heaviest first.")
    reason: str = ""


class EnrichmentError(_Record):
    enricher: str
    error: str


# --------------------------------------------------------------------------------------------------
# news.parsed, news.unique, news.normalized, news.tagged: the article as it moves through the stages
# --------------------------------------------------------------------------------------------------


class Article(_Record):
    """An article between stages. Every stage fills more fields; none removes any."""

    schema_version: int = SCHEMA_VERSION
    id: str = Field(description="Deterministic: sha256 of origin and raw payload, first 32 hex digits.")
    origin: str
    received_at: datetime
    raw_format: Literal["text", "html", "json"]
    url: str | None = None
    source: str | None = None
    title: str = ""
    title_derived: bool = Field(default=False, description="The input gave no title: this is the body's first sentence.")
    body: str = ""
    source_categories: list[str] = Field(default_factory=list)
    published_at: datetime | None = Field(default=None, description="In UTC.")
    published_date_only: bool = Field(
        default=False, description="published_at came without a time of day: it is midnight UTC of that date."
    )
    authors: list[str] = Field(default_factory=list)
    updated_at: datetime | None = Field(
        default=None, description="When the source says it last updated the article (in UTC); none when it did not say."
    )
    encoding: str | None = Field(default=None, description="Text encoding the raw payload was decoded with (Python codec name).")
    encoding_source: str | None = Field(
        default=None,
        description="How it was chosen: utf-8 (valid UTF-8), bom, http-header, meta, xml-declaration, detected.",
    )
    # dedup
    duplicate_of: str | None = None
    similarity: float | None = None
    cluster_id: str | None = Field(default=None, description="The duplicate group: the first copy's id (its own id for an original). "
                                      "Story clusters across outlets are story_id (issue 23).")
    version: int | None = Field(
        default=None, description="1 for the first version of an article; 2, 3... for updates at the same canonical URL."
    )
    version_of: str | None = Field(default=None, description="An update's first version's id (null for version 1).")
    # normalize
    corrections: list[Correction] = Field(default_factory=list)
    # tag
    entities: list[Entity] = Field(default_factory=list)
    # enrich
    language: str | None = None
    language_confidence: float | None = None
    keywords: list[str] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    word_count: int = 0
    reading_time_s: int = 0
    sentiment: Sentiment | None = None
    entity_sentiment: list[EntitySentiment] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    primary_country: str | None = None
    quotes: list[Quote] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)
    enrichment_errors: list[EnrichmentError] = Field(default_factory=list)
    # stories
    story_id: str | None = Field(default=None, description="The story (incident) the article reports; see news.stories.")
    story: StoryLink | None = Field(default=None, description="The stories stage's decision and its evidence.")
    skipped: dict[str, str] = Field(default_factory=dict, description="stage or enricher -> why it did not apply")
    # bookkeeping
    timings: dict[str, float] = Field(default_factory=dict, description="Milliseconds spent in each stage.")
    pipeline_version: str = ""
    stage_versions: dict[str, str] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# news.enriched, news.duplicates, news.dlq
# --------------------------------------------------------------------------------------------------


class EnrichedArticle(Article):
    """The output contract on ``news.enriched``: a clean, structured, de-duplicated article."""


class DuplicateArticle(Article):
    """An article recognized as a copy of one seen before; it never reaches ``news.enriched``."""

    duplicate_of: str
    duplicate_kind: Literal["exact", "url", "near"] = "exact"
    reason: str = ""


class DeadLetter(_Record):
    """An input that could not be processed, with the stage and the reason. Nothing is dropped."""

    schema_version: int = SCHEMA_VERSION
    kind: Literal["newsflow.dlq"] = "newsflow.dlq"
    stage: str
    reason: str
    error_type: str = ""
    origin: str
    article_id: str | None = None
    failed_at: datetime = Field(default_factory=utcnow)
    received_at: datetime | None = None
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    payload: str = Field(default="", description="The input of the failing stage, as received.")
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    payload_truncated: bool = False


# --------------------------------------------------------------------------------------------------
# news.stories
# --------------------------------------------------------------------------------------------------


class StoryMember(_Record):
    article_id: str
    title: str = ""
    source: str | None = None
    url: str | None = None
    event_time: datetime
    score: float = 0.0


class Story(_Record):
    """A story on ``news.stories`` (compacted, keyed by ``story_id``): the latest state wins."""

    schema_version: int = SCHEMA_VERSION
    kind: Literal["newsflow.story"] = "newsflow.story"
    story_id: str = Field(description="Stable: 's-' and the id of the story's first article.")
    title: str
    first_seen: datetime = Field(description="Event time of the earliest member.")
    last_seen: datetime = Field(description="Event time of the latest member.")
    article_count: int
    sources: list[str] = Field(default_factory=list, description="Outlets of the members (hosts or source names).")
    terms: list[StoryTerm] = Field(default_factory=list, description="What the members share most, heaviest first.")
    members: list[StoryMember] = Field(default_factory=list, description="Member articles, oldest first.")
    updated_by: str = Field(default="", description="The article whose arrival produced this state.")


TOPIC_RECORDS: dict[str, type[BaseModel]] = {
    "news.raw": RawArticle,
    "news.parsed": Article,
    "news.unique": Article,
    "news.normalized": Article,
    "news.tagged": Article,
    "news.unclustered": Article,
    "news.enriched": EnrichedArticle,
    "news.stories": Story,
    "news.duplicates": DuplicateArticle,
    "news.dlq": DeadLetter,
}
