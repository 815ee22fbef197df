"""The trained topic model: it ships, classifies plain news, and always gives a 50-word article a class."""

import numpy as np
import pytest

from pipeline.stages.enrich.categories import classify, seed_classify
from pipeline.stages.enrich.topics import MODEL, model, tokens
from schemas import Article


def _article(title: str, body: str) -> Article:
    return Article(id="t", origin="t", received_at="2025-01-01T00:00:00Z", raw_format="text", title=title,
                   body=body, language="en")


STORIES = {
    "sport": ("United win the title after a late goal",
              "Manchester United won the Premier League title on Sunday after a late goal from their captain "
              "gave them a 2-1 win over Chelsea. The manager said the players deserved the championship after "
              "a long season, and fans celebrated outside the stadium until midnight."),
    "economy, business and finance": ("Bank profits fall as interest rates drop",
              "Shares in the country's largest banks fell on Tuesday after quarterly profit dropped by a fifth. "
              "Investors worry that lower interest rates will squeeze lending margins, and analysts cut their "
              "earnings forecasts for the year. The bank's chief executive said costs would be reduced."),
    "politics": ("Senate passes budget bill after long debate",
              "The Senate passed the budget bill late on Thursday by 51 votes to 49, after Republicans and "
              "Democrats argued for hours over spending on defence and healthcare. The president is expected "
              "to sign the bill, which the opposition leader called a failure of the government."),
}


def test_the_model_ships_small():
    assert MODEL.exists() and MODEL.stat().st_size < 2_000_000
    m = model()
    assert len(m.codes) == 17 and m.coef.shape == (len(m.index), 17) and m.seed_coef.shape == (17, 17)


@pytest.mark.parametrize("label", sorted(STORIES))
def test_plain_stories_get_their_class_first(label):
    cats = classify(_article(*STORIES[label]))
    assert cats[0].label == label


def test_fifty_words_always_get_a_category_with_a_probability():
    body = ("The committee met again on Wednesday and talked for several hours about what it should do next "
            "with the old building near the river, which many people in the town still use every week for "
            "meetings, and it agreed to meet again next month before any decision is made about it.")
    assert len(body.split()) >= 50
    cats = classify(_article("Committee meets again", body))
    assert cats and 0.0 < cats[0].score < 1.0
    assert [c.score for c in cats] == sorted((c.score for c in cats), reverse=True)


def test_scores_are_probabilities_not_shares():
    # a single title word made the seed vocabulary's share 1.00; the model's probability is no certainty
    seed = seed_classify(_article("Ceasefire", ""))
    cats = classify(_article("Ceasefire", ""))
    assert cats and cats[0].score < 0.99
    assert not seed or seed[0].score >= cats[0].score


def test_no_known_word_no_category():
    assert classify(_article("", "")) == []
    assert classify(_article("Xq", "Zzkq vvbq")) == []


def test_tokens_lower_case_words():
    assert tokens("U.S. Profit-taking hit 3 stocks") == ["u", "s", "profit-taking", "hit", "stocks"]
    assert np.isfinite(model().probabilities("a", "b")).all()


@pytest.mark.parametrize("word,wrong", [
    ("european", "economy, business and finance"), ("firefox", "disaster, accident and emergency incident"),
    ("portal", "economy, business and finance"), ("policy", "crime, law and justice"),
    ("games", "lifestyle and leisure"),
])
def test_seed_words_the_issue_found_matching_wrongly(word, wrong):
    from pipeline.stages.enrich.categories import classes_of
    from pipeline.stages.enrich.taxonomy import MEDIA_TOPICS

    assert wrong not in {MEDIA_TOPICS[i][1] for i in classes_of(word)}
