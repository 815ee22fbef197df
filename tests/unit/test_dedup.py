from datetime import datetime, timezone

from pipeline.stages.dedup import canonical_text, canonical_url, dedup
from schemas import Article


def art(id_: str, body: str, url: str | None = None, title: str = "T") -> Article:
    return Article(id=id_, origin=f"o-{id_}", received_at=datetime(2025, 1, 1, tzinfo=timezone.utc),
                   raw_format="text", title=title, body=body, url=url)


def test_canonical_text_folds_case_punctuation_and_boilerplate():
    a = canonical_text("The  Minister SAID: “yes”.\nReporting by Jane Doe; Editing by John Roe")
    assert a == "the minister said yes"


def test_canonical_url_drops_tracking():
    assert canonical_url("HTTPS://www.Example.com/a/b/?utm_source=x&id=3#frag") == "https://example.com/a/b?id=3"
    assert canonical_url("not a url") is None


def test_exact_duplicate_points_at_first_copy():
    index: dict = {}
    first = dedup(art("a", "Storm hits the coast. Thousands without power."), index)
    second = dedup(art("b", "STORM hits the coast!  Thousands without power"), index)
    assert not first.is_duplicate and first.article.cluster_id == "a"
    assert second.is_duplicate
    assert second.article.duplicate_of == "a" and second.article.duplicate_kind == "exact"


def test_same_canonical_url_is_a_duplicate():
    index: dict = {}
    dedup(art("a", "one text", url="https://x.com/story?utm_medium=rss"), index)
    res = dedup(art("b", "an updated text", url="https://www.x.com/story"), index)
    assert res.is_duplicate and res.article.duplicate_kind == "url"


def test_redelivery_of_the_same_article_is_not_a_duplicate():
    index: dict = {}
    a = art("a", "Same article delivered twice by the broker.")
    assert not dedup(a, index).is_duplicate
    assert not dedup(a, index).is_duplicate


def test_different_text_passes():
    index: dict = {}
    dedup(art("a", "Storm hits the coast."), index)
    assert not dedup(art("b", "Elections held in the north."), index).is_duplicate
