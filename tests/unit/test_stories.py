"""The stories stage on hand-built tagged and enriched articles (no model needed)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pipeline import topics
from pipeline.stages.chain import Pipeline
from pipeline.stages.stories.index import MemoryStoryIndex, TableStoryIndex
from pipeline.stages.stories.stage import StoryConfig, assign, features, furniture_weight
from schemas import Article, Entity, Place, Story

T0 = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
SHARE_BAR = "Email Facebook Twitter Print"


def art(id_: str, title: str, body: str, *, url: str, people=(), orgs=(), places=(), keywords=(),
        when: datetime = T0) -> Article:
    ents = [Entity(text=p, label="PERSON", start=0, end=len(p)) for p in people]
    ents += [Entity(text=o, label="ORG", start=0, end=len(o)) for o in orgs]
    return Article(id=id_, origin=f"test/{id_}", received_at=when, published_at=when, raw_format="text", url=url,
                   title=title, body=body, entities=ents,
                   places=[Place(name=n, geonames_id=g, country_code="US") for n, g in places],
                   keywords=list(keywords))


def fire_report(id_: str, outlet: str, title: str, when: datetime = T0) -> Article:
    return art(id_, title, f"{SHARE_BAR}\nFirefighters fought the blaze at the Kellerman warehouse for six hours.",
               url=f"https://{outlet}/news/{id_}", people=["Dana Whitcombe"], orgs=["Tulsa Fire Department"],
               places=[("Tulsa", 4553433)], keywords=["warehouse fire", "blaze", "firefighters"], when=when)


def test_two_outlets_reporting_one_incident_share_a_story_with_the_evidence():
    index = MemoryStoryIndex()
    first = assign(fire_report("a1", "tulsaworld.com", "Warehouse blaze in Tulsa injures two firefighters"), index)
    second = assign(fire_report("a2", "newson6.com", "Two firefighters hurt as Kellerman warehouse burns",
                                when=T0 + timedelta(hours=3)), index)
    assert first.article.story.started and first.article.story_id == "s-a1"
    assert second.article.story_id == "s-a1" and not second.article.story.started
    link = second.article.story
    assert {"who", "where", "what"} <= set(link.kinds)
    labels = {t.label for t in link.matched}
    assert "Dana Whitcombe" in labels and "Tulsa" in labels
    assert all(t.label.casefold() not in SHARE_BAR.casefold().split() for t in link.matched)
    story = second.story
    assert isinstance(story, Story) and story.article_count == 2 and story.title == first.article.title
    assert [m.article_id for m in story.members] == ["a1", "a2"]
    assert story.sources == ["newson6.com", "tulsaworld.com"]


def test_two_incidents_of_one_kind_in_different_places_stay_apart():
    index = MemoryStoryIndex()
    a = art("s1", "Shooting outside bar leaves one dead", "Police said a man was shot late on Friday.",
            url="https://a.example/1", people=["Marcus Hale"], places=[("Dayton", 4509884)],
            keywords=["shooting", "police", "bar"])
    b = art("s2", "Shooting outside bar leaves one dead", "Police said a man was shot late on Friday.",
            url="https://b.example/2", people=["Lena Ortiz"], places=[("Fresno", 5350937)],
            keywords=["shooting", "police", "bar"])
    ra, rb = assign(a, index), assign(b, index)
    assert ra.article.story_id != rb.article.story_id
    assert rb.article.story.started


def test_an_outlets_own_city_hospital_and_share_bar_join_nothing():
    """One outlet's usual words (its city, its hospital, its share bar) are in all its articles: after a
    few articles they get no weight, and its different incidents stay different stories."""
    index = MemoryStoryIndex()
    incidents = [("Crash on Route 9", "Ellen Marsh", "crash"), ("School board vote", "Tom Reyes", "budget"),
                 ("Barn fire", "Ada Kwan", "barn"), ("Robbery at a pharmacy", "Luis Pena", "robbery"),
                 ("Dog rescued from a river", "Nora Bligh", "rescue"), ("Water main break", "Ike Dunn", "pipe"),
                 ("Fraud charges", "Ray Voss", "fraud"), ("Stabbing downtown", "Kim Lund", "stabbing"),
                 ("Bridge closed for repairs", "Sue Park", "bridge"), ("House fire", "Omar Tate", "fire")]
    results = []
    for i, (title, person, word) in enumerate(incidents):
        a = art(f"o{i}", title, f"{SHARE_BAR}\nThe victim was taken to Mercy General Hospital in Springfield.",
                url=f"https://springfieldnews.example/{i}", people=[person], orgs=["Mercy General Hospital"],
                places=[("Springfield", 4409896)], keywords=[word, "hospital", "springfield"],
                when=T0 + timedelta(hours=i))
        results.append(assign(a, index))
    assert len({r.article.story_id for r in results}) == len(incidents)
    # the outlet's hospital and city weigh nothing by now for this outlet
    feats = features(results[-1].article)
    from pipeline.stages.stories.stage import weight

    assert weight("o:mercy general hospital", "Mercy General Hospital", feats.source, index.stats, StoryConfig()) == 0.0
    assert weight("g:4409896", "Springfield", feats.source, index.stats, StoryConfig()) == 0.0


def test_furniture_hook_and_window():
    assert furniture_weight("facebook") == 0.0 and furniture_weight("warehouse") == 1.0
    index = MemoryStoryIndex(window_s=3 * 86400.0)
    assign(fire_report("w1", "a.example", "Warehouse blaze in Tulsa"), index, StoryConfig(window_s=3 * 86400.0))
    late = assign(fire_report("w2", "b.example", "Warehouse blaze in Tulsa", when=T0 + timedelta(days=10)), index,
                  StoryConfig(window_s=3 * 86400.0))
    assert late.article.story.started  # same words ten days later: another incident (the window is event time)


def test_a_redelivered_article_gets_its_story_again_and_counts_once():
    index = MemoryStoryIndex()
    assign(fire_report("r1", "a.example", "Warehouse blaze in Tulsa"), index)
    second = assign(fire_report("r2", "b.example", "Tulsa warehouse burns"), index)
    again = assign(fire_report("r2", "b.example", "Tulsa warehouse burns"), index)
    assert again.article.story_id == second.article.story_id == "s-r1"
    assert again.story.article_count == 2
    assert index.stats.n_docs == 2


def test_table_index_keeps_its_state_in_the_table_and_rebuilds_from_it():
    table: dict = {}
    index = TableStoryIndex(table)
    assign(fire_report("t1", "a.example", "Warehouse blaze in Tulsa"), index)
    assert set(table) == {"a:t1", "s:s-t1"}
    recovered = TableStoryIndex(table)  # a worker that read the changelog back
    res = assign(fire_report("t2", "b.example", "Tulsa warehouse burns"), recovered)
    assert res.article.story_id == "s-t1" and recovered.rebuilds == 1
    assert table["s:s-t1"]["members"][1]["article_id"] == "t2"
    # expiry: a much later article pushes both out of the window; their keys are deleted
    assign(art("t3", "Budget passes", "The council passed the budget.", url="https://c.example/3",
               people=["Ann Lee"], keywords=["budget"], when=T0 + timedelta(days=30)), recovered)
    assert recovered.sweep() == 3
    assert set(table) == {"a:t3", "s:s-t3"}


def test_the_chain_writes_the_article_to_enriched_and_the_story_beside_it():
    pipe = Pipeline()
    step, = pipe.apply("stories", [fire_report("c1", "a.example", "Warehouse blaze in Tulsa")])
    assert step.topic == topics.ENRICHED and step.error is None
    assert step.record.story_id == "s-c1" and "stories" in step.record.stage_versions
    (topic, key, record), = step.extras
    assert topic == topics.STORIES and key == b"s-c1" and record.article_count == 1
