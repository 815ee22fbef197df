"""``newsflow eval stories``: the dev set and the pair scoring (the full run needs the tagger: not here)."""

from pipeline.measure.eval.stories import DEFAULT_SET, articles_of, load, pair_scores


def test_pair_scores_count_pairs_overall_across_outlets_and_where_wrong_pairs_come_from():
    labels = ["a", "a", "a", "b"]
    sources = ["x.com", "y.com", None, "x.com"]
    topics = ["1", "1", "1", "1"]
    # predicted: {0, 1, 3} one cluster, {2} alone
    res = pair_scores(labels, sources, ["c", "c", "d", "c"], topics)
    # pairs predicted: (0,1) right, (0,3) wrong same outlet, (1,3) wrong across outlets
    assert res["pairs_predicted"] == 3 and res["pairs_wrong"] == 2
    assert res["pair_precision"] == round(1 / 3, 4) and res["pair_recall"] == round(1 / 3, 4)
    assert res["wrong_same_outlet"] == 1 and res["wrong_same_topic"] == 2
    # across outlets: (0,1) and (1,3) known and different: one right of two predicted; gold across: (0,1) only
    assert res["across_outlets_precision"] == 0.5 and res["across_outlets_recall"] == 1.0


def test_the_dev_set_ships_with_the_code_and_keeps_its_labels():
    rows = load(DEFAULT_SET)
    assert len(rows) == 982 and len({r["story"] for r in rows}) == 86
    assert sum(1 for r in rows if r["source"]) == 502
    arts = articles_of(rows[:3])
    assert arts[0].title and arts[0].body and arts[0].published_at is None


def test_the_furniture_variant_serves_each_article_from_one_of_twelve_outlets():
    from urllib.parse import urlsplit

    from pipeline.measure.eval.stories import OUTLETS

    rows = load(DEFAULT_SET)[:40]
    arts = articles_of(rows, furniture=True)
    hosts = {urlsplit(a.url).netloc for a in arts}
    assert hosts <= {h for h, _, _ in OUTLETS} and len(hosts) == len(OUTLETS)
    a = arts[0]
    host, city, hospital = next(o for o in OUTLETS if o[0] == urlsplit(a.url).netloc)
    assert a.body.startswith("Email Facebook Twitter Print") and city in a.body and hospital in a.body
    assert rows[0]["body"] in a.body  # the text itself is untouched
