"""Sentiment reads news: direction (profit fell, loss narrowed), negation, and a document label from
the sentences; VADER stays as the baseline."""

import numpy as np
import pytest

from pipeline.stages.enrich.sentiment import (CLASSES, MODEL, direction, model, probabilities, sentiment, terms,
                                               vader_label, vader_score, words)
from schemas import Article


def _label(text: str) -> str:
    return CLASSES[int(np.argmax(probabilities(text)))]


def test_the_model_ships_small():
    assert MODEL.exists() and MODEL.stat().st_size < 1_000_000
    assert model().classes == list(CLASSES)


def test_negation_marks_the_next_words_up_to_punctuation():
    assert words("Sales did not rise, costs fell") == ["sales", "did", "not", "not_rise", "costs", "fell"]
    assert "not_rise" in terms("did not rise") and "did not" in terms("did not rise")


@pytest.mark.parametrize("text,better,worse", [
    ("Net profit for the quarter rose 12 percent", 1, 0),
    ("Operating loss narrowed to 2 million euros", 1, 0),
    ("Sales fell in the third quarter", 0, 1),
    ("Higher costs hit the company", 0, 1),
    ("Revenue did not increase", 0, 1),
    ("The contract value is 3 million euros", 0, 0),
])
def test_direction_of_measures(text, better, worse):
    assert direction(words(text)).tolist() == [better, worse]


@pytest.mark.parametrize("text,expected", [
    ("Profit fell 20 percent in the quarter.", "negative"),
    ("Sales did not rise as expected.", "negative"),
    ("The company said net sales increased by 5 %.", "positive"),
    ("Shares plunged after the chief executive resigned.", "negative"),
])
def test_news_sentences(text, expected):
    assert _label(text) == expected


def test_vader_misreads_profit_decreased_the_model_does_not():
    # the example of what VADER cannot see ("profit" is a positive word to it)
    assert vader_label(vader_score("Operating profit decreased to EUR 1.2 mn.")) != "negative"
    assert _label("Operating profit decreased to EUR 1.2 mn.") == "negative"


def test_document_and_entity_sentiment():
    body = "Acme said profit fell sharply. Acme shares plunged on the news. Analysts cut their targets."
    a = Article(id="t", origin="t", received_at="2025-01-01T00:00:00Z", raw_format="text",
                title="Acme profit falls", body=body, language="en")
    out = sentiment(a)
    assert out["sentiment"].label == "negative" and -1 <= out["sentiment"].score < 0
    empty = sentiment(a.model_copy(update={"title": "", "body": ""}))
    assert empty["sentiment"].label in CLASSES


def test_many_sentences_at_once_give_the_same_probabilities():
    from pipeline.stages.enrich.sentiment import probabilities_many

    texts = ["Profit fell.", "", "Xqzv", "Sales did not rise, costs fell sharply.", "Shares jumped 5 %."]
    assert np.allclose(probabilities_many(texts), np.stack([probabilities(t) for t in texts]), atol=1e-5)
    assert probabilities_many([]).shape == (0, 3)
