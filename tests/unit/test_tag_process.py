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
