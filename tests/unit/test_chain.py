"""The stage chain (pipeline/stages/chain.py): a failed batch is retried one article at a time, once each."""

from __future__ import annotations

from pipeline import topics
from pipeline.stages import chain
from pipeline.stages.chain import Pipeline
from schemas import Article, RawArticle


def article(i: int, body: str) -> Article:
    return Article(id=f"a{i}", origin=f"test/{i}", received_at="2025-01-01T00:00:00Z", raw_format="text",
                   title=f"Title {i}", body=body)


def test_one_bad_article_fails_alone_and_each_article_is_tried_once_more(monkeypatch):
    calls: list[list[str]] = []

    def tag_batch(articles, nlp=None, *, batch_size=32):
        calls.append([a.id for a in articles])
        if any("poison" in a.body for a in articles):
            raise ValueError("the model choked")
        return list(articles)

    monkeypatch.setattr(chain.tag_stage, "tag_batch", tag_batch)
    pipe = Pipeline()
    pipe._nlp = object()  # no model is loaded: the stage is replaced
    steps = pipe.apply("tag", [article(1, "fine"), article(2, "poison"), article(3, "fine too")])
    assert [s.topic for s in steps] == [topics.TAGGED, topics.DLQ, topics.TAGGED]
    err = steps[1].error
    assert (err.stage, err.origin, err.article_id) == ("tag", "test/2", "a2") and "the model choked" in err.reason
    assert steps[1].input.id == "a2"  # what the stage was given, for the dead letter
    assert calls == [["a1", "a2", "a3"], ["a1"], ["a2"], ["a3"]]
    calls.clear()
    (alone,) = pipe.apply("tag", [article(4, "poison")])
    assert alone.topic == topics.DLQ and calls == [["a4"]]  # a batch of one is not tried twice


def test_run_stops_each_article_where_it_ends_and_keeps_input_order():
    pipe = Pipeline()
    raws = [RawArticle.from_bytes(b"Port strike\n\nDock workers stopped work over pay on Monday.", "r/1"),
            RawArticle.from_bytes(b"", "r/2"),
            RawArticle.from_bytes(b"Port strike\n\nDock workers stopped work over pay on Monday.", "r/3")]
    steps = pipe.run(["parse", "dedup"], raws)
    assert [s.topic for s in steps] == [topics.UNIQUE, topics.DLQ, topics.DUPLICATES]
    assert steps[1].error.stage == "parse" and steps[1].input is raws[1]
