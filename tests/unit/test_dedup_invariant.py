"""Issue 17: a dedup decision, once made for an id, is replayed, not re-decided; the window never lets an
exact copy pass; issue 23: containment, exact verification, page furniture."""

import random
from datetime import datetime, timedelta, timezone

import numpy as np

from pipeline.stages.dedup.index import MemoryDedupIndex, NearStore, TableDedupIndex
from pipeline.stages.dedup.stage import DedupConfig, dedup, overlap, shingle_hashes, canonical_text
from pipeline.stages.furniture import is_furniture, strip_furniture
from schemas import Article
from tests.unit.test_dedup import STORY, OTHER_REPORT, story, syndicated

PUBLISHED = datetime(2025, 3, 5, tzinfo=timezone.utc)
RECEIVED = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)


def art(id_: str, body: str, *, published: datetime | None = PUBLISHED, received: datetime = RECEIVED,
        url: str | None = None, title: str = "T") -> Article:
    return Article(id=id_, origin=f"o-{id_}", received_at=received, published_at=published,
                   raw_format="text", title=title, body=body, url=url)


def outcome(res) -> tuple:
    a = res.article
    return (res.is_duplicate, a.duplicate_of, getattr(a, "duplicate_kind", None), a.cluster_id, a.version)


UNDATED = "An undated bulletin: the council meets on Thursday to vote on the new budget for the city libraries."


def test_replay_in_the_other_order_after_the_index_forgot_gives_the_first_decisions():
    """The bug of issue 17: two near-identical articles dated 2025-03-05, then an undated (now-dated)
    one. Version 2 cut its sweep at `newest publish date - window`, forgot both, and a replay that
    brought them back in the other order decided the other way: each id on both topics, each the
    near-copy of the other."""
    index = MemoryDedupIndex(sweep_every=1)
    first = {a.id: outcome(dedup(a, index)) for a in (art("orig", story()), art("copy", syndicated()))}
    assert first["copy"][:3] == (True, "orig", "near") and not first["orig"][0]
    dedup(art("bulletin", UNDATED, published=None), index)
    index.sweep()
    # the replay: the same records, the copy first
    again = {a.id: outcome(dedup(a, index)) for a in (art("copy", syndicated()), art("orig", story()))}
    assert again == first


def test_decisions_survive_losing_the_near_index_and_any_replay_order():
    rng = random.Random(7)
    arts = [art("orig", story()), art("copy", syndicated()), art("exact", story().upper()),
            art("other", story(OTHER_REPORT)), art("bulletin", UNDATED, published=None),
            art("v1", "The harbour strike began on Monday in the port.", url="https://p.example/strike"),
            art("v2", "The harbour strike ended on Tuesday after talks.", url="https://p.example/strike")]
    index = MemoryDedupIndex(sweep_every=1)
    first = {a.id: outcome(dedup(a, index)) for a in arts}
    assert first["v2"] == (False, None, None, "v1", 2)
    for _ in range(5):
        index.store = NearStore()  # the derived state gone (a restart, a sweep)
        index.shingles.clear()
        order = arts[:]
        rng.shuffle(order)
        assert {a.id: outcome(dedup(a, index)) for a in order} == first


def test_five_identical_old_copies_after_an_undated_article_are_all_caught():
    """Version 2's worker let two of five byte-identical copies dated 2025-03-05 through after one
    undated article had pushed its watermark to now."""
    for index in (MemoryDedupIndex(sweep_every=1), TableDedupIndex({}, sweep_interval_s=0)):
        dedup(art("bulletin", UNDATED, published=None), index)
        results = []
        for i in range(5):
            results.append(dedup(art(f"c{i}", story(), received=RECEIVED + timedelta(seconds=i)), index))
            index.sweep()
        assert [r.is_duplicate for r in results] == [False, True, True, True, True]
        assert {r.article.duplicate_of for r in results[1:]} == {"c0"}


def test_exact_copies_are_caught_whatever_the_publish_dates_and_order():
    rng = random.Random(3)
    for _ in range(10):
        dates = [PUBLISHED + timedelta(days=rng.randrange(-400, 400)) for _ in range(4)] + [None]
        rng.shuffle(dates)
        index = MemoryDedupIndex(sweep_every=1)
        res = [dedup(art(f"c{i}", story(), published=d), index) for i, d in enumerate(dates)]
        assert sum(not r.is_duplicate for r in res) == 1


def test_table_index_decides_as_the_memory_index_and_rebuilds_from_its_table():
    arts = [art("orig", story()), art("copy", syndicated()), art("other", story(OTHER_REPORT))]
    mem, table = MemoryDedupIndex(), TableDedupIndex({})
    assert [outcome(dedup(a, mem)) for a in arts] == [outcome(dedup(a, table)) for a in arts]
    fresh = TableDedupIndex(dict(table.table))  # what an in-process replay reads back from the changelog
    late = dedup(art("late-copy", syndicated() + "\n\nOne more closing line for the late copy."), fresh)
    assert late.is_duplicate and late.article.duplicate_of == "orig"
    assert fresh.rebuilds == 1 and len(fresh.ensure()) == 2


UPDATE_EXTRA = [
    "Update, 6 p.m.: the bank later said its governor would give evidence to lawmakers next week, and "
    "officials declined to comment further on the timing of any cut to the bank rate this spring.",
    "Traders in London said the pound held its gains into the evening while gilt yields were steady, and "
    "several analysts revised their forecasts for the first reduction in borrowing costs to May or June.",
    "A spokesperson for the Treasury said the chancellor welcomed the committee's careful approach and "
    "repeated that bringing inflation down remained the government's first economic priority this year.",
    "Business groups urged the committee to act sooner, saying high borrowing costs were holding back "
    "investment by small firms across the country, particularly in construction and in retail.",
]


def test_an_update_that_contains_the_whole_earlier_release_is_a_near_copy_by_containment():
    index = MemoryDedupIndex()
    dedup(art("release", story(STORY[1:4])), index)
    page = art("update", story(STORY[1:4] + UPDATE_EXTRA), url="https://other.example/update")
    res = dedup(page, index)
    assert res.is_duplicate and res.article.duplicate_of == "release"
    assert res.article.similarity < 0.5 and "containment 1.00" in res.article.reason


def test_a_rewritten_top_at_jaccard_just_over_a_half_is_caught_on_the_exact_overlap():
    rest = STORY[1:] + UPDATE_EXTRA[:3]
    a = story(["Sister paper own opening paragraph about the decision, written for its readers in Leeds and in York, "
               "with a quote from a local baker who fears for her loan."] + rest)
    b = story(["A station rewrote the top: rates held, Bailey speaks, markets calm, more to follow soon tonight.",
               "Viewers were told the decision came at noon with a seven to two vote by the committee, which "
               "surprised few."] + rest[2:])
    j, _ = overlap(shingle_hashes(canonical_text(a)), shingle_hashes(canonical_text(b)))
    assert 0.5 <= j < 0.6
    index = MemoryDedupIndex()
    dedup(art("paper", a), index)
    res = dedup(art("station", b), index)
    assert res.is_duplicate and res.article.duplicate_of == "paper"
    assert abs(res.article.similarity - round(j, 4)) < 1e-9  # the real Jaccard, not an estimate


WIDGET = "\n".join([
    "Now Playing", "Up Next", "Video playlist", "Autoplay", "0:45", "1:12",
    "Email Facebook Twitter Print", "Share this story",
    "Thank You For Reading! Please log in, or sign up for a new account to continue reading premium content.",
    "Already a subscriber? Log in to continue.",
    "Photo: John Smith / The Daily Example",
    "Sign up for our daily newsletter to get the latest headlines in your inbox.",
    "(AP Photo/Jane Roe)",
    "Copyright 2017 The Daily Example. All rights reserved.",
])


def test_furniture_lines_are_recognised_and_story_lines_are_not():
    for line in WIDGET.splitlines():
        assert is_furniture(line), line
    for line in STORY + OTHER_REPORT + ["Share prices fell 3 percent on Monday.", "Watch the video below, police said."]:
        assert not is_furniture(line), line
    assert strip_furniture(WIDGET + "\nA real sentence of the story.") == "A real sentence of the story."


def test_two_different_shootings_whose_pages_are_mostly_furniture_are_not_merged():
    index = MemoryDedupIndex()
    a = dedup(art("s1", WIDGET + "\nA man was shot on Elm Street on Friday night, police said."), index)
    b = dedup(art("s2", WIDGET + "\nTwo teenagers were wounded in a shooting near the mall on Sunday."), index)
    assert not a.is_duplicate and not b.is_duplicate
    # and furniture added to a copy does not hide it
    c = dedup(art("s3", "A man was shot on Elm Street on Friday night, police said.\n" + WIDGET), index)
    assert c.is_duplicate and c.article.duplicate_of == "s1" and c.article.duplicate_kind == "exact"


def test_near_store_finds_inserted_digests_after_merges_and_compaction():
    from pipeline.stages.dedup.stage import Indexed, minhash

    store = NearStore()
    rng = np.random.default_rng(1)
    sets = [np.unique(rng.integers(0, 2**32, 200, dtype=np.uint64).astype(np.uint32)) for _ in range(6000)]
    for i, h in enumerate(sets):
        store.add(Indexed(f"id{i}", f"id{i}", float(i), h.size, b"", float(i)), minhash(h))
    assert store.keys.size > 0  # merged at least once
    assert "id4321" in {e.id for e in store.near(minhash(sets[4321]))}
    store.expire(3000.0)
    assert len(store) == 3000 and store.n == 3000  # renumbered
    assert "id4321" in {e.id for e in store.near(minhash(sets[4321]))}
    assert "id10" not in {e.id for e in store.near(minhash(sets[10]))}


def test_parse_reads_the_update_time_of_json_and_html_inputs():
    from pipeline.stages.parse import parse
    from schemas import RawArticle

    body = "Dock workers in the port of Antwerp stopped work on Monday over pay and hours."
    j = parse(RawArticle.from_bytes(orjson_dumps({"title": "Strike", "body": body, "url": "https://p.example/s",
                                                  "published": "2025-03-05T08:00:00Z",
                                                  "dateModified": "2025-03-05T14:30:00+01:00"}), "feed/a.json"))
    assert j.updated_at == datetime(2025, 3, 5, 13, 30, tzinfo=timezone.utc)
    html = ('<html><head><title>Strike</title><meta property="article:modified_time" content="2025-03-06T09:00:00Z">'
            f'</head><body><article><h1>Strike</h1><p>{body}</p><p>{body}</p></article></body></html>')
    h = parse(RawArticle.from_bytes(html.encode(), "page/a.html", media_type="text/html"))
    assert h.updated_at == datetime(2025, 3, 6, 9, tzinfo=timezone.utc)
    plain = parse(RawArticle.from_bytes(orjson_dumps({"title": "Strike", "body": body}), "feed/b.json"))
    assert plain.updated_at is None


def orjson_dumps(obj) -> bytes:
    import orjson

    return orjson.dumps(obj)
