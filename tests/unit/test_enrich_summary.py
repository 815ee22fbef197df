"""Summary: no sentence twice, no sentence that only opens a quotation."""

from pipeline.stages.enrich.summary import summarize
from schemas import Article


def _article(body: str, title: str = "") -> Article:
    return Article(id="t", origin="t", received_at="2025-01-01T00:00:00Z", raw_format="text", title=title,
                   body=body, language="en")


LEAD = "The city council approved a new budget for schools and hospitals on Tuesday evening."


def test_a_repeated_paragraph_is_summarised_once():
    body = "\n\n".join([
        LEAD,
        "Council members voted nine to four after a long debate about hospital funding.",
        LEAD,  # printed twice, as syndicated copies often are
        "The mayor said the budget would be reviewed again in the spring.",
        LEAD.upper().lower().capitalize(),
    ])
    out = summarize(_article(body, "Council approves budget for schools and hospitals"))
    keys = [" ".join(s.lower().split()) for s in out]
    assert len(keys) == len(set(keys)) == 2
    assert out[0] == LEAD


def test_a_sentence_that_only_opens_a_quotation_is_not_picked():
    opener = "“We will not accept budget cuts to schools and hospitals in this city."
    body = "\n\n".join([
        LEAD,
        f"{opener} Our children deserve better funding than this, and the hospitals deserve it too,” "
        "the union leader told the council meeting.",
        "Council members voted nine to four after a long debate about hospital funding.",
    ])
    out = summarize(_article(body, "Council approves budget for schools and hospitals"))
    assert opener not in out and not any(s.startswith("“") for s in out)
    assert LEAD in out


def test_a_sentence_introducing_a_quote_is_not_picked():
    body = "\n\n".join([
        LEAD,
        "The union leader addressed the council budget meeting with a warning about hospitals:",
        "Council members voted nine to four after a long debate about hospital funding.",
    ])
    out = summarize(_article(body))
    assert not any(s.endswith(":") for s in out)
