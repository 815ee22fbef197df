from pipeline.measure.eval.extraction import DEFAULT_DEVSET, load, same_title, token_f1


def test_token_f1():
    assert token_f1("the storm hit", "The storm hit") == 1.0
    assert token_f1("", "storm") == 0.0
    assert abs(token_f1("storm hit coast", "storm hit") - 0.8) < 1e-9


def test_same_title_ignores_quote_style_and_spaces():
    assert same_title("Dies “Burned Her Up”", 'Dies "Burned Her Up"')
    assert not same_title("Storm | Site", "Storm")


def test_devset_ships_with_headlines_and_bodies():
    pages = load(DEFAULT_DEVSET)
    assert len(pages) >= 30
    assert all(p["html"] and p["title"] and len(p["body"]) > 200 for p in pages)
