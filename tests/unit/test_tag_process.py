"""How the worker cuts a tag batch across its NER child processes (pipeline/stages/tag/process.py)."""

from pipeline.stages.tag.process import split


def test_split_keeps_order_and_balances():
    items = list(range(7))
    parts = split(items, 3)
    assert parts == [[0, 1, 2], [3, 4], [5, 6]]
    assert [x for p in parts for x in p] == items


def test_split_never_makes_empty_parts_for_small_batches():
    assert split([1], 2) == [[1]]
    assert split([1, 2], 1) == [[1, 2]]
    assert split([1, 2], 8) == [[1], [2]]


def test_split_by_weight_balances_the_cost_keeping_order():
    lengths = [100, 100, 100, 2000, 100, 100]
    parts = split(lengths, 2, weight=lambda x: x)
    assert [x for p in parts for x in p] == lengths
    assert parts == [[100, 100, 100], [2000, 100, 100]]  # by count: [100, 100, 100] and [2000, 100, 100] too
    assert split([2000, 100, 100, 100, 100, 100], 2, weight=lambda x: x) == [[2000], [100] * 5]  # by count: 2,200
    even = split([5] * 8, 3, weight=lambda x: x)
    assert [len(p) for p in even] == [3, 3, 2] or sorted(len(p) for p in even) == [2, 3, 3]
    assert split([1, 2], 8, weight=lambda x: x) == [[1], [2]]
    assert split([0, 0, 0], 2, weight=lambda x: x) in ([[0], [0, 0]], [[0, 0], [0]])
    for p in range(1, 6):
        got = split(list(range(1, 40)), p, weight=lambda x: x)
        assert len(got) == p and all(got) and [x for q in got for x in q] == list(range(1, 40))


def test_weighted_split_is_closer_to_even_than_a_split_by_count():
    import random

    rng = random.Random(5)
    worse = 0
    for _ in range(200):
        batch = [rng.choice([300, 600, 1200, 2500, 6000]) for _ in range(rng.randint(2, 32))]
        by_count = max(sum(p) for p in split(batch, 2))
        by_cost = max(sum(p) for p in split(batch, 2, weight=lambda x: x))
        worse += by_cost > by_count
    assert worse == 0
