"""The entities evaluation's reading of the ner-extra sets (issue 19): label mapping, documents, scoring."""

import spacy
from spacy.tokens import Doc, Span

from pipeline.measure.eval.entities import score_docs
from pipeline.measure.eval.ner_sets import SETS, available, read_set


def _write(root, name, split, text):
    (root / name).mkdir(parents=True, exist_ok=True)
    (root / name / f"{split}.txt").write_text(text, encoding="utf-8")


def test_sets_without_document_markers_are_one_document_a_sentence_with_mapped_labels(tmp_path):
    _write(tmp_path, "wnut17", "test", "Apple B-corporation\nrocks O\n\nsee B-person\nAda I-person\nin O\nRome B-location\n\n")
    docs = read_set(tmp_path, "wnut17", "test")
    assert [d.words for d in docs] == [["Apple", "rocks"], ["see", "Ada", "in", "Rome"]]
    assert docs[0].spans == [(0, 1, "ORG")]
    assert docs[1].spans == [(0, 2, "PER"), (3, 4, "LOC")]
    assert available(tmp_path, "test") == ["wnut17"]


def test_worldwide_drops_the_url_unit_and_dates(tmp_path):
    _write(tmp_path, "worldwide", "test", "-DOCSTART- O\n\nhttp://x.org/1 O\n\nafrol B-Organization\nNews I-Organization\n"
           ", O\n26 B-Date\nJune I-Date\n- O\nIn O\nMadagascar B-Location\n\n")
    (doc,) = read_set(tmp_path, "worldwide", "test")
    assert doc.words[0] == "afrol" and doc.spans == [(0, 2, "ORG"), (7, 8, "LOC")]


def test_re3d_keeps_names_only_and_the_token_cap_keeps_whole_documents(tmp_path):
    _write(tmp_path, "re3d", "test", "the B-Organisation\ncoalition I-Organisation\nhit O\nISIS B-Organisation\n\n"
           "Raqqa B-Location\n\n")
    docs = read_set(tmp_path, "re3d", "test", max_tokens=3)
    assert len(docs) == 1 and docs[0].spans == [(3, 4, "ORG")]
    assert SETS["re3d"].permissive is False and SETS["wikigold"].permissive is True


def test_classes_a_set_does_not_annotate_are_not_scored():
    from pipeline.measure.eval.conll_ner import ConllDoc

    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words=["French", "officials", "met", "Ada", "Lovelace"])
    doc.ents = [Span(doc, 0, 1, "NORP"), Span(doc, 3, 5, "PERSON")]
    gold = [ConllDoc(words=[t.text for t in doc], spans=[(3, 5, "PER")], sent_starts=[0])]
    assert score_docs([doc], gold, ("PER", "ORG", "LOC"))["f1"] == 1.0
    four = score_docs([doc], gold)
    assert four["precision"] == 0.5 and four["recall"] == 1.0
