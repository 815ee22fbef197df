from datetime import datetime, timezone

from pipeline.stages.normalize import normalize
from pipeline.stages.parse import parse
from schemas import Article, RawArticle


def art(body: str, title: str = "Title") -> Article:
    return Article(id="x", origin="t", received_at=datetime(2025, 1, 1, tzinfo=timezone.utc),
                   raw_format="text", title=title, body=body)


def check_offsets(a: Article) -> None:
    for c in a.corrections:
        text = a.title if c.field == "title" else a.body
        assert text[c.start:c.end] == c.corrected, c


def test_seed_fixes(seed_bytes):
    a = normalize(parse(RawArticle.from_bytes(seed_bytes, "seed.txt")))
    fixes = {(c.original, c.corrected, c.field) for c in a.corrections}
    assert ("Subsutantial", "Substantial", "title") in fixes
    assert ("pow\n\ners", "powers", "body") in fixes
    assert "Take Substantial Role" in a.title
    assert "influential powers, and China" in a.body
    for name in ("Zelensky", "Hegseth", "Volodymyr", "Kyiv", "Xi Jinping", "Kremlin"):
        assert name in a.body
    assert len(a.corrections) == 2
    assert a.language == "en"
    check_offsets(a)


def test_glued_and_hyphenated_words():
    a = normalize(art("The report was PublishedFebruary and the govern-\nment said the well-\nknown plan works."))
    assert "Published February" in a.body
    assert "government said" in a.body
    assert "well-known plan" in a.body
    check_offsets(a)


def test_case_preserved_and_names_untouched():
    a = normalize(art("Officials RECIEVED the letter. Then Mr Hegsethh met Abhijeet Kumar and Hegsethh left."))
    assert "RECIEVED" in a.body or "RECEIVED" in a.body
    assert "Hegsethh" in a.body and "Abhijeet Kumar" in a.body
    check_offsets(a)


def test_mojibake_repaired():
    a = normalize(art("The minister said it wasnâ€™t over."))
    assert "wasn’t" in a.body
    assert any(c.kind == "mojibake" for c in a.corrections)
    check_offsets(a)


def test_non_english_is_skipped():
    a = normalize(art("Der Trainer lobte nach dem Spiel die Geduld seiner Mannschaft und sagte, sie habe gewartet."))
    assert a.corrections == [] and a.language == "de" and "normalize" in a.skipped
