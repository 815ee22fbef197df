"""The typo evaluation's own pieces, on a tiny CoNLL file (no ../shared needed)."""

import random
from datetime import datetime, timezone

from pipeline.measure.eval.typos import Score, build_doc, read_conll, score_doc
from pipeline.stages.normalize import normalize
from schemas import Article, Correction

CONLL = """-DOCSTART- -X- -X- O

GOVERNMENT NN B-NP O
WINS VBZ B-VP O
VOTE NN B-NP O
. . O O

Prime NNP B-NP O
minister NN I-NP O
Pete NNP I-NP B-PER
Hegseth NNP I-NP I-PER
said VBD B-VP O
the DT B-NP O
government NN I-NP O
( ( O O
" " O O
in IN O O
Kyiv NNP O B-LOC
" " O O
) ) O O
would MD B-VP O
support VB I-VP O
the DT B-NP O
plan NN I-NP O
's POS O O
goals NNS I-NP O
. . O O
"""


def test_rebuilt_text_injection_and_scoring(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(CONLL)
    (doc,) = read_conll(path)
    clean = build_doc(doc, random.Random(1), {}, 0.0)
    assert clean.title == "GOVERNMENT WINS VOTE."
    assert clean.body == 'Prime minister Pete Hegseth said the government ("in Kyiv") would support the plan\'s goals.'
    assert [clean.body[s:e] for _, s, e in clean.entity_spans] == ["Pete", "Hegseth", "Kyiv"]
    # Every eligible word corrupted: misspellings from the (reversed) pairs, line breaks, glued pairs.
    built = build_doc(doc, random.Random(3), {"government": ["goverment"], "support": ["suport"]}, 1.0)
    assert built.injected and all(f in ("title", "body") for f, _ in built.injected)
    for fld, inj in built.injected:
        text = built.title if fld == "title" else built.body
        assert text[inj.start:inj.end] != inj.expected
    for _, s, e in built.entity_spans:  # entities never corrupted
        assert built.body[s:e] in ("Pete", "Hegseth", "Kyiv")
    art = Article(id="x", origin="t", received_at=datetime(2025, 1, 1, tzinfo=timezone.utc), raw_format="text",
                  title=built.title, body=built.body, language="en")
    out = normalize(art)
    sc = Score()
    score_doc(built, out, sc, {})
    assert sc.injected == len(built.injected) and sc.names_changed == 0
    assert sc.restored <= sc.injected and sc.right <= sc.changes == len(out.corrections)


def test_annotated_source_typo_fix_counts_as_right():
    from pipeline.measure.eval.source_typos import NOT_TYPOS, SOURCE_TYPOS
    from pipeline.measure.eval.typos import Built
    from schemas import Correction

    assert SOURCE_TYPOS["intriuguing"] == "intriguing" and not set(SOURCE_TYPOS) & NOT_TYPOS
    built = Built(title="", body="an intriuguing match and gunbattles", words=5)
    fixed = "an intriguing match and gun battles"
    art = Article(id="x", origin="t", received_at=datetime(2025, 1, 1, tzinfo=timezone.utc), raw_format="text",
                  title="", body=fixed, corrections=[
                      Correction(original="intriuguing", corrected="intriguing", start=3, end=13, kind="spelling",
                                 field="body"),
                      Correction(original="gunbattles", corrected="gun battles", start=24, end=35, kind="glued",
                                 field="body")])
    sc = Score(annotated_only=frozenset({"intriuguing"}))
    score_doc(built, art, sc, dict(SOURCE_TYPOS))
    assert (sc.changes, sc.right, sc.source_typos_fixed, sc.annotated_typos_fixed, sc.false_changes) == (2, 1, 1, 1, 1)


def test_wikipedia_list_ships_and_reverses():
    from pipeline.measure.eval.typos import wikipedia_pairs

    pairs = wikipedia_pairs()
    assert len(pairs) > 3000
    assert "abandonned" in pairs["abandoned"]


def test_plain_symspell_baseline_changes_unknown_lower_case_words():
    from pipeline.measure.eval.typos import plain_symspell

    art = Article(id="x", origin="t", received_at=datetime(2025, 1, 1, tzinfo=timezone.utc), raw_format="text",
                  title="Title", body="The goverment said Tšosane would come.")
    out = plain_symspell(art)
    assert "government" in out.body
    assert {(c.original, c.corrected) for c in out.corrections} >= {("goverment", "government")}


def test_misspellings_scored_by_edit_distance():
    from pipeline.measure.eval.typos import Built, Injected

    body = "The goverment and the govrnmnt met."
    built = Built("Title", body, injected=[("body", Injected(4, 13, "government", "misspelling")),
                                           ("body", Injected(22, 30, "government", "misspelling"))], words=6)
    art = Article(id="x", origin="t", received_at=datetime(2025, 1, 1, tzinfo=timezone.utc), raw_format="text",
                  title="Title", body=body)
    sc = Score()
    score_doc(built, art, sc, {})
    assert dict(sc.by_distance) == {"1": 1, "2+": 1}
    assert sc.as_dict()["misspelling_recall_by_edits"] == {"1": 0.0, "2+": 0.0}


def test_clean_page_changes_counts_every_change():
    from pipeline.measure.eval.typos import clean_page_changes

    untouched = clean_page_changes(lambda a: a)
    assert untouched["pages"] >= 30 and untouched["changes"] == 0 and untouched["words"] > 20_000

    def shout_the(a):
        i = a.body.find(" the ")
        if i < 0:
            return a
        c = Correction(original="the", corrected="THE", start=i + 1, end=i + 4, kind="spelling", field="body")
        return a.model_copy(update={"corrections": [c]})

    assert clean_page_changes(shout_the)["changes"] >= 25  # one a page with " the " (not the German or French ones)
