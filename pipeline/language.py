"""Language detection (lingua), shared by the stages that only apply to some languages."""

from __future__ import annotations

from functools import lru_cache

#: enough text to decide; longer texts only cost time
SAMPLE_CHARS = 1500


@lru_cache(maxsize=1)
def _detector():
    from lingua import LanguageDetectorBuilder

    # Models load lazily, per language, the first time they are needed.
    return LanguageDetectorBuilder.from_all_spoken_languages().build()


def detect(text: str) -> tuple[str | None, float | None]:
    """ISO 639-1 code and confidence of the text's language; (None, None) when it cannot tell."""
    text = text[:SAMPLE_CHARS]
    if not text.strip():
        return None, None
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return None, None
    top = values[0]
    return top.language.iso_code_639_1.name.lower(), round(top.value, 4)
