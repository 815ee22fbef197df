"""The arithmetic of ``newsflow eval enrich``'s quality figures."""

from pipeline.measure.eval.enrich import _conll_lines, accuracy, calibration_error, macro_f1, mean_recall, report


def test_accuracy_macro_f1_and_mean_recall():
    gold = ["a", "a", "a", "b"]
    pred = ["a", "a", "a", "a"]
    assert accuracy(gold, pred) == 0.75
    assert macro_f1(gold, pred) == round((6 / 7 + 0) / 2, 4)
    assert mean_recall(gold, pred) == 0.5
    assert macro_f1(gold, gold) == 1.0 and accuracy([], []) == 0.0


def test_calibration_error():
    assert calibration_error([0.9, 0.9], [True, True]) == 0.1
    assert calibration_error([0.55, 0.55], [True, False]) == 0.05


def test_conll_lines(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("-DOCSTART- -X- O O\n\n" + "".join(f"w{i} NN O O\n" for i in range(8)) + "\nshort NN O O\n")
    assert list(_conll_lines(p)) == [" ".join(f"w{i}" for i in range(8))]


def test_report_puts_each_figure_beside_its_baseline():
    res = {"topics": {"items": 2, "model": {"accuracy": 0.9, "mean_class_recall": 0.8, "no_category": 0,
                                              "calibration_error": 0.05},
                      "seed_vocabulary": {"accuracy": 0.2, "mean_class_recall": 0.3, "no_category": 1}},
           "sentiment": {"items": 2, "model": {"accuracy": 0.8, "macro_f1": 0.8},
                         "vader": {"accuracy": 0.5, "macro_f1": 0.5}},
           "language": {"x": {"items": 3, "not_english": 0, "lingua_alone_not_english": 2}}}
    lines = report(res)
    assert "model accuracy 0.9" in lines[0] and "seed vocabulary 0.2" in lines[0]
    assert "vader accuracy 0.5" in lines[1] and "lingua alone 2" in lines[2]


def test_without_development_sets_the_quality_half_says_so(tmp_path, monkeypatch):
    from pipeline.measure.eval import enrich as ev

    monkeypatch.setattr(ev, "DATA", tmp_path)
    res = ev.run()
    assert "skipped" in res and report(res)[0].startswith("quality: skipped")
