"""The wire format of every topic: UTF-8 JSON written with orjson, validated by the schema models."""

from __future__ import annotations

from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas import TOPIC_RECORDS, RawArticle

M = TypeVar("M", bound=BaseModel)


def encode(record: BaseModel) -> bytes:
    return orjson.dumps(record.model_dump(mode="json", exclude_none=False))


def decode(data: bytes, model: type[M]) -> M:
    """Raises ValueError (orjson.JSONDecodeError or ValidationError) on a record that does not fit."""
    return model.model_validate(orjson.loads(data))


def decode_for_topic(topic: str, value: bytes) -> BaseModel | bytes:
    """A record of ``topic`` decoded by that topic's schema model; the bytes as they are on a topic without one.

    Raises ValueError, like ``decode``, on a record that does not fit its model."""
    model = TOPIC_RECORDS.get(topic)
    return decode(value, model) if model else value


def raw_from_message(value: bytes | None, origin: str) -> RawArticle:
    """A ``news.raw`` message: newsflow's envelope, or bare text/HTML/JSON that a producer wrote.

    Anything that is not an envelope is wrapped as-is, so nothing is lost and the parse stage can
    give the reason it cannot be read.
    """
    value = value or b""
    if value[:1] == b"{" and b'"newsflow.raw"' in value[:4096] or b'"newsflow.raw"' in value[-512:]:
        try:
            return decode(value, RawArticle)
        except (ValueError, ValidationError):
            pass
    return RawArticle.from_bytes(value, origin=origin)
