"""The benchmark corpus: seeded, reproducible, and it makes every stage work (duplicates, typos, layouts)."""

from pathlib import Path

import pytest

from pipeline.measure.bench.corpus import generate
from pipeline.stages.chain import Pipeline
from pipeline.kafka.wire import encode


def test_same_seed_same_bytes_other_seed_other_bytes():
    a, b, c = generate(60, seed=3), generate(60, seed=3), generate(60, seed=4)
    assert [x.payload for x in a] == [x.payload for x in b]
    assert [x.origin for x in a] == [x.origin for x in b]
    assert [x.payload for x in a] != [x.payload for x in c]
    assert len(a) == 60 and len({x.origin for x in a}) == 60


def test_corpus_has_duplicates_typos_and_every_layout():
    c = generate(100, seed=1)
    kinds = [x.kind for x in c]
    assert kinds.count("exact_dup") == 8 and kinds.count("near_dup") == 7
    assert c.stats["typos"] > 20 and {x.format for x in c} == {"text", "json", "html"}
    assert 150 <= c.stats["words_median"] <= 1500
    # an exact duplicate comes after its original
    order = {x.origin: i for i, x in enumerate(c)}
    assert all(order[x.dup_of] < order[x.origin] for x in c if x.dup_of)


def test_the_pipeline_finds_the_exact_duplicates_and_parses_every_layout():
    c = generate(25, seed=2)
    outcomes = Pipeline().process([x.raw() for x in c])
    topics = [o.topic for o in outcomes]
    assert topics.count("news.dlq") == 0, [o.record for o in outcomes if o.topic == "news.dlq"][:1]
    assert topics.count("news.duplicates") >= sum(1 for x in c if x.kind == "exact_dup")
    assert encode(outcomes[0].record)


SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "eval"


@pytest.mark.skipif(not (SHARED / "conll2003-test.txt").is_file(), reason="../shared/eval is absent")
def test_conll_text_when_the_evaluation_data_is_there():
    c = generate(30, seed=5, data_dir=SHARED)
    assert c.source == "conll2003"
    assert [x.payload for x in c] == [x.payload for x in generate(30, seed=5, data_dir=SHARED)]


def test_publication_times_stay_inside_the_dedup_window():
    """Spread wider than the window, the live dedup would forget originals at its first sweep and miss later
    copies, so a slow run would count fewer duplicates than a fast one (issue 22)."""
    from pipeline.measure.bench.corpus import generate
    from pipeline.settings import Settings
    from pipeline.stages.chain import Pipeline

    pipe = Pipeline(Settings(stages=["parse"]))
    times = [pipe.parse(a.raw()).published_at for a in generate(60, 11, None)]
    times = [t for t in times if t is not None]
    assert len(times) > 40
    assert (max(times) - min(times)).total_seconds() < Settings().dedup_window_days * 86400 / 2
