from datetime import datetime, timedelta, timezone

from pipeline.stages.chain import Pipeline
from pipeline.stages.dedup.index import MemoryDedupIndex
from pipeline.stages.dedup.stage import DedupConfig, canonical_text, canonical_url, dedup, estimate_jaccard, sketch
from schemas import Article

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)

STORY = [
    "LONDON 2025-01-01",
    "Britain's central bank kept interest rates on hold on Thursday, saying inflation was falling more slowly "
    "than it had expected and that wage growth remained too strong for a cut this month.",
    "Governor Andrew Bailey told reporters the Monetary Policy Committee voted seven to two to keep the bank "
    "rate at 5.25 percent, with two members preferring a quarter-point reduction.",
    "Financial markets had priced in a small chance of a cut, and sterling rose half a cent against the dollar "
    "after the decision was published at noon.",
    "The bank said it would watch services prices and the labour market closely over the coming months before "
    "deciding whether policy could be loosened later in the year.",
    "Economists at several banks said they still expected the first cut in the spring, once the annual pay "
    "settlements in January and February were known.",
]
OTHER_REPORT = [  # same event, independently written: same names and numbers, different text
    "The Bank of England left borrowing costs unchanged at 5.25 percent on Thursday as Andrew Bailey and a "
    "majority of the Monetary Policy Committee held out against calls for relief.",
    "Seven members backed the hold and two wanted a reduction, the minutes showed. Sterling firmed against the "
    "dollar while gilt yields edged higher across the curve.",
    "Bailey said the Committee needed more evidence that price pressures in services were easing before moving.",
]


def art(id_: str, body: str, url: str | None = None, title: str = "T", when: datetime = T0) -> Article:
    return Article(id=id_, origin=f"o-{id_}", received_at=when, published_at=when,
                   raw_format="text", title=title, body=body, url=url)


def story(paras=STORY) -> str:
    return "\n\n".join(paras)


def syndicated() -> str:
    """New boilerplate, a typo, a cut paragraph, reflowed lines."""
    paras = list(STORY)
    paras[2] = paras[2].replace("reporters", "reportres")
    del paras[4]
    paras.append("Reporting by Jane Doe; Editing by John Roe")
    return "\n".join(" ".join(paras).split(". "))


def test_canonical_text_folds_case_punctuation_nfkc_and_boilerplate():
    a = canonical_text("The  Minister SAID: “yes”.\nReporting by Jane Doe; Editing by John Roe\n© 2025 Reuters")
    assert a == "the minister said yes"
    assert canonical_text("Ｒｅｓｕｌｔ：１２３") == "result 123"  # full-width forms fold under NFKC
    assert canonical_text("Click here to subscribe to our newsletter\nRain in Spain.") == "rain in spain"


def test_canonical_url_drops_tracking():
    assert canonical_url("HTTPS://www.Example.com/a/b/?utm_source=x&id=3#frag") == "https://example.com/a/b?id=3"
    assert canonical_url("not a url") is None


def test_exact_duplicate_points_at_first_copy():
    index = MemoryDedupIndex()
    first = dedup(art("a", "Storm hits the coast. Thousands without power."), index)
    second = dedup(art("b", "STORM hits the coast!  Thousands without power"), index)
    assert not first.is_duplicate and first.article.cluster_id == "a"
    assert second.is_duplicate
    assert second.article.duplicate_of == "a" and second.article.duplicate_kind == "exact"
    assert second.article.cluster_id == "a"


def test_same_canonical_url_with_changed_text_is_a_new_version():
    index = MemoryDedupIndex()
    first = dedup(art("a", "one text about the harbour strike", url="https://x.com/story?utm_medium=rss"), index)
    res = dedup(art("b", "an updated text about the harbour strike, now over", url="https://www.x.com/story"), index)
    assert not res.is_duplicate  # on to news.enriched
    assert (first.article.version, first.article.version_of) == (1, None)
    assert (res.article.version, res.article.version_of, res.article.cluster_id) == (2, "a", "a")
    third = dedup(art("c", "a third text: the strike ended on Tuesday", url="https://x.com/story"), index)
    assert (third.article.version, third.article.version_of) == (3, "a")
    # the same text at the same URL again is a copy of the version it repeats
    again = dedup(art("d", "an updated text about the harbour strike now over", url="https://x.com/story"), index)
    assert again.is_duplicate and again.article.duplicate_of == "b" and again.article.duplicate_kind == "exact"


def test_a_newer_updated_at_is_a_new_version_even_with_the_same_text():
    index = MemoryDedupIndex()
    dedup(art("a", "Storm hits the coast.", url="https://x.com/s"), index)
    same = art("b", "Storm hits the coast.", url="https://x.com/s")
    newer = same.model_copy(update={"id": "c", "updated_at": T0 + timedelta(hours=3)})
    assert dedup(same, index).is_duplicate  # no update time: an exact copy
    res = dedup(newer, index)
    assert not res.is_duplicate and (res.article.version, res.article.version_of) == (2, "a")
    # the same update time again is not newer: a copy
    assert dedup(newer.model_copy(update={"id": "e"}), index).is_duplicate


def test_redelivery_of_the_same_article_is_not_a_duplicate():
    index = MemoryDedupIndex()
    a = art("a", "Same article delivered twice by the broker.")
    assert not dedup(a, index).is_duplicate
    assert not dedup(a, index).is_duplicate


def test_syndicated_copy_is_a_near_duplicate_with_its_similarity():
    index = MemoryDedupIndex()
    assert not dedup(art("orig", story()), index).is_duplicate
    res = dedup(art("copy", syndicated(), title="Bank of England holds rates - sources"), index)
    assert res.is_duplicate
    dup = res.article
    assert dup.duplicate_kind == "near" and dup.duplicate_of == "orig" and dup.cluster_id == "orig"
    assert 0.5 <= dup.similarity < 1.0 and "Jaccard" in dup.reason and "counted on the texts" in dup.reason


def test_near_duplicate_decision_follows_the_threshold():
    index = MemoryDedupIndex()
    dedup(art("orig", story()), index)
    strict = DedupConfig(threshold=0.99, containment_threshold=0.99)
    res = dedup(art("copy", syndicated()), index, strict)
    assert not res.is_duplicate  # similar, but below a 0.99 threshold: passes as its own group
    assert res.article.cluster_id == "copy"


def test_estimated_similarity_is_the_verification_not_the_bucket():
    a = sketch(art("a", story()))
    b = sketch(art("b", syndicated()))
    c = sketch(art("c", story(OTHER_REPORT)))
    assert estimate_jaccard(a.sig, a.sig) == 1.0
    assert 0.55 <= estimate_jaccard(a.sig, b.sig) < 1.0
    assert estimate_jaccard(a.sig, c.sig) < 0.1


def test_redelivered_near_duplicate_gets_the_same_decision_and_its_exact_copy_points_at_it():
    index = MemoryDedupIndex()
    dedup(art("orig", story()), index)
    copy = art("copy", syndicated())
    first, again = dedup(copy, index), dedup(copy, index)
    assert first.is_duplicate and again.is_duplicate
    assert again.article.duplicate_of == "orig" and again.article.duplicate_kind == "near"
    assert again.article.similarity == first.article.similarity
    exact = dedup(art("copy2", syndicated().upper()), index)
    assert exact.is_duplicate and exact.article.duplicate_kind == "exact" and exact.article.duplicate_of == "copy"


def test_independent_report_of_the_same_event_passes_as_its_own_group():
    """Story clusters are a later stage's: dedup's cluster_id is the duplicate group, the first copy's id."""
    index = MemoryDedupIndex()
    dedup(art("orig", story(), title="Bank of England keeps rates on hold"), index)
    res = dedup(art("other", story(OTHER_REPORT), title="Bailey and BoE hold at 5.25 percent"), index)
    assert not res.is_duplicate and res.article.cluster_id == "other"


def test_window_lets_old_near_copies_pass_but_never_exact_copies():
    index = MemoryDedupIndex(window_s=7 * 86400)
    cfg = DedupConfig(window_s=7 * 86400)
    dedup(art("old", story()), index, cfg)
    later = T0 + timedelta(days=8)
    near = dedup(art("near-late", syndicated(), when=later), index, cfg)  # a near copy 8 days later: passes
    assert not near.is_duplicate
    exact = dedup(art("new", story(), when=later), index, cfg)  # the same text 8 days later: still a copy
    assert exact.is_duplicate and exact.article.duplicate_of == "old"
    assert len(index.store) == 2
    assert index.sweep() > 0  # the old article's near entry went (arrived more than the window ago)
    assert len(index.store) == 1
    assert dedup(art("again", story().upper(), when=later), index, cfg).is_duplicate  # its fingerprint stays


def test_sweep_runs_by_itself_as_the_index_grows():
    index = MemoryDedupIndex(window_s=3600, sweep_every=10)
    cfg = DedupConfig(window_s=3600)
    for i in range(40):
        dedup(art(f"a{i}", f"Article number {i} about topic {i * 13} with words {i} {i + 1} {i + 2} and more words here.",
                  when=T0 + timedelta(hours=i)), index, cfg)
    assert len(index.store) < 20  # old ones went without an explicit sweep


def test_pipeline_uses_settings_for_the_decision():
    from pipeline.settings import Settings

    pipe = Pipeline(Settings(near_duplicate_threshold=0.99, near_containment_threshold=0.99))
    assert not pipe.dedup(art("orig", story())).is_duplicate
    assert not pipe.dedup(art("copy", syndicated())).is_duplicate
    pipe = Pipeline(Settings())
    pipe.dedup(art("orig", story()))
    assert pipe.dedup(art("copy", syndicated())).is_duplicate


def test_different_text_passes():
    index = MemoryDedupIndex()
    dedup(art("a", "Storm hits the coast."), index)
    assert not dedup(art("b", "Elections held in the north."), index).is_duplicate


def test_plain_dict_index_still_does_exact_copies():
    index: dict = {}
    dedup(art("a", "Storm hits the coast."), index)
    assert dedup(art("b", "storm hits the coast"), index).is_duplicate


def test_eval_dedup_says_clearly_when_the_data_is_missing(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "pipeline", "eval", "dedup", "--data", str(tmp_path / "nowhere")],
                       capture_output=True, timeout=120)
    assert r.returncode == 2
    text = b" ".join(r.stderr.split())
    assert b"does not exist" in text and b"Traceback" not in text


def test_eval_set_builds_labelled_copies_from_conll_text(tmp_path):
    from pipeline.measure.eval.conll import read_conll
    from pipeline.measure.eval.dedup import build_set

    words = ("The central bank kept its main interest rate unchanged on Thursday and said inflation was "
             "falling slowly while the economy grew at a steady pace in the second quarter .").split()
    lines = ["-DOCSTART- -X- -X- O", ""]
    for title in ("RATES HELD .", "RAIN FALLS ."):
        lines += [f"{w} X X O" for w in title.split()] + [""]
        for _ in range(4):
            lines += [f"{w} X X O" for w in words] + [""]
        lines += ["-DOCSTART- -X- -X- O", ""]
    path = tmp_path / "conll2003-test.txt"
    path.write_text("\n".join(lines))
    docs = read_conll(path, "test")
    assert len(docs) == 2 and docs[0].title == "RATES HELD." and len(docs[0].paragraphs) == 4
    items = build_set(docs)
    kinds = sorted(it.kind for it in items)
    assert kinds.count("original") == 2 and kinds.count("exact") == 2 and kinds.count("near") == 4
    index = MemoryDedupIndex()
    results = {it.article.id: (it, dedup(it.article, index)) for it in items}
    assert all(r.is_duplicate for it, r in results.values() if it.kind != "original")
