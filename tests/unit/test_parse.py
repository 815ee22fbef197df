from datetime import datetime, timezone

import orjson
import pytest

from pipeline.errors import RejectedInput
from pipeline.stages.parse import article_id, parse, split_categories
from schemas import RawArticle


def raw(data: bytes | str, origin: str = "test", media_type: str | None = None) -> RawArticle:
    if isinstance(data, str):
        data = data.encode()
    return RawArticle.from_bytes(data, origin, media_type)


def test_seed_parses_exactly(seed_bytes):
    a = parse(raw(seed_bytes, "seed.txt"))
    assert a.title == ("US Initiative Sparks Hope for Ukraine Peace Talks as Europe Hopes to Take Subsutantial "
                       "Role in Initiative")
    assert a.source == "Reuters"
    assert a.published_at == datetime(2025, 2, 14, tzinfo=timezone.utc)
    assert a.source_categories == ["Eastern Europe", "Politics", "USA", "World"]
    assert a.raw_format == "text"
    assert a.body.startswith("A flurry of diplomatic activity has erupted")
    assert a.body.endswith("since the conflict’s inception.")
    assert "Source:" not in a.body and "Published" not in a.body and a.title not in a.body
    paragraphs = a.body.split("\n\n")
    assert len(paragraphs) == 10
    assert paragraphs[8].endswith("influential pow") and paragraphs[9].startswith("ers, and China")


def test_id_is_deterministic_and_depends_on_origin(seed_bytes):
    a1 = parse(raw(seed_bytes, "a.txt"))
    a2 = parse(raw(seed_bytes, "a.txt"))
    b = parse(raw(seed_bytes, "b.txt"))
    assert a1.id == a2.id == article_id("a.txt", seed_bytes)
    assert a1.id != b.id and len(a1.id) == 32


def test_json_article():
    payload = orjson.dumps({
        "title": "Rates held", "body": "The central bank kept rates unchanged.\n\nMarkets rose.",
        "url": "https://x.example/a", "source": {"name": "Wire"}, "published": "2025-03-01T10:00:00+01:00",
        "categories": "Business | Markets",
    })
    a = parse(raw(payload))
    assert a.raw_format == "json" and a.title == "Rates held" and a.source == "Wire"
    assert a.published_at.isoformat() == "2025-03-01T10:00:00+01:00"
    assert a.source_categories == ["Business", "Markets"]
    assert a.body.split("\n\n") == ["The central bank kept rates unchanged.", "Markets rose."]


def test_html_article():
    html = """<html><head><title>Storm hits coast | Site</title><meta property="og:site_name" content="Coast News">
    </head><body><nav>Home | World</nav><article><h1>Storm hits coast</h1>
    <p>A powerful storm made landfall on Tuesday, cutting power to thousands of homes along the coast.</p>
    <p>Emergency services said roads were closed and residents should stay indoors until the wind drops.</p>
    </article><footer>Copyright 2025</footer></body></html>"""
    a = parse(raw(html))
    assert a.raw_format == "html"
    assert a.title.startswith("Storm hits coast")
    assert a.source == "Coast News"
    assert "made landfall on Tuesday" in a.body and "Copyright" not in a.body and "Home | World" not in a.body


def test_plain_text_without_header():
    a = parse(raw("Short headline\n\nFirst paragraph of the story.\n\nSecond paragraph."))
    assert a.title == "Short headline"
    assert a.body == "First paragraph of the story.\n\nSecond paragraph."


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty input"),
        (b"   \n\n  ", "empty input"),
        (b"\x00\x01\x02\x03binary\xff\xfe", "binary data"),
        (b"caf\xe9 au lait is good", "invalid UTF-8"),
        (b'{"title": "x", "body": ', "invalid JSON"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b'{"foo": "bar"}', "no article text"),
        (b"[" * 5000 + b"]" * 5000, "JSON"),
    ],
)
def test_bad_input_is_rejected_with_a_reason(data, reason):
    with pytest.raises(RejectedInput) as exc:
        parse(raw(data, "bad.bin"))
    assert reason in exc.value.reason
    assert exc.value.stage == "parse" and exc.value.origin == "bad.bin"


def test_payload_over_the_limit():
    with pytest.raises(RejectedInput, match="over the limit"):
        parse(raw("x" * 101), max_bytes=100)


def test_split_categories():
    assert split_categories("Eastern Europe Politics USA World") == ["Eastern Europe", "Politics", "USA", "World"]
    assert split_categories("World / Middle East / Politics") == ["World", "Middle East", "Politics"]


PROSE = ("<p>A powerful storm made landfall on Tuesday, cutting power to thousands of homes along the coast, "
         "officials said.</p><p>Emergency services said roads were closed and residents should stay indoors until "
         "the wind drops on Wednesday evening.</p>")


def test_html_title_is_the_pages_headline_without_the_site_name():
    html = f"""<html><head><title>Storm hits coast - Times of India</title>
    <link rel="canonical" href="https://timesofindia.indiatimes.com/city/storm.cms"></head>
    <body><article><h1>Storm hits coast</h1>{PROSE}</article></body></html>"""
    assert parse(raw(html)).title == "Storm hits coast"
    html = f"""<html><head><title>Subhead about power | CBC News</title>
    <meta property="og:title" content="Storm hits coast, thousands without power | CBC News">
    <meta property="og:site_name" content="CBC"></head>
    <body><article><h2>Subhead about power</h2>{PROSE}</article></body></html>"""
    assert parse(raw(html)).title == "Storm hits coast, thousands without power"


def test_html_title_prefers_json_ld_and_confirmed_h1():
    html = f"""<html><head><title>Storm | Coast News</title>
    <script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
      "headline": "Storm hits the coast overnight", "publisher": {{"@type": "Organization", "name": "Coast News"}}}}
    </script></head><body><h1>Coast News</h1><article>{PROSE}</article></body></html>"""
    assert parse(raw(html)).title == "Storm hits the coast overnight"
    html = f"""<html><head><title>Storm hits coast | Jane Doe | The Guardian</title>
    <meta property="og:title" content="Storm hits coast | Jane Doe"></head>
    <body><article><h1>Storm hits coast</h1>{PROSE}</article></body></html>"""
    assert parse(raw(html)).title == "Storm hits coast"


def test_title_separators_inside_a_headline_stay():
    from pipeline.stages.parse import strip_site_name

    assert strip_site_name("Ukraine - the view from Kyiv", ["Coast News"], "https://coast.example/a") == \
        "Ukraine - the view from Kyiv"
    assert strip_site_name("The Namibian - Floods in the north", ["The Namibian"]) == "Floods in the north"


def test_html_data_table_kept_layout_table_not():
    rows = "".join(f"<tr><td>{t}</td><td>{p}</td><td>{w}</td></tr>" for t, p, w in
                   (("Rovers", 5, 13), ("United", 5, 11), ("Athletic", 5, 9)))
    html = f"""<html><head><title>Standings</title></head><body><article><h1>League standings after round five</h1>
    {PROSE}<table><tr><th>Team</th><th>Played</th><th>Points</th></tr>{rows}</table></article></body></html>"""
    a = parse(raw(html))
    assert "Rovers" in a.body and "Athletic" in a.body
    table = next(b for b in a.body.split("\n\n") if "Rovers" in b)
    assert "United" in table  # the rows of a table stay one block
    links = "".join(f"<tr><td><a href='/{i}'>Most read story number {i}</a></td><td><a href='/{i}'>more</a></td></tr>"
                    for i in range(4))
    html = f"""<html><head><title>Storm</title></head><body><article><h1>Storm hits coast</h1>{PROSE}
    <table>{links}</table></article></body></html>"""
    from pipeline.stages.parse import _html_tree, extraction_options

    assert extraction_options(_html_tree(html)) == {"include_tables": False}  # links, not data


@pytest.mark.parametrize("head", [
    '<script type="application/ld+json">{not json</script>',
    '<script type="application/ld+json">[{"@graph": [{"headline": ["a", "b"]}, {"headline": 7}]}]</script>',
    '<script type="application/ld+json">{"headline": "", "publisher": ["x"]}</script>',
    '<meta property="og:title" content="">',
    '<meta property="og:title">',
])
def test_html_odd_metadata_falls_back_to_the_h1(head):
    html = f"<html><head><title>Storm hits coast | Coast News</title>{head}</head><body><article>" \
           f"<h1>Storm hits coast</h1>{PROSE}</article></body></html>"
    assert parse(raw(html)).title == "Storm hits coast"


def test_html_title_helpers_survive_an_unreadable_tree():
    from pipeline.stages.parse import _html_tree, choose_title, extraction_options

    assert _html_tree("") is None
    assert extraction_options(None) == {"include_tables": False}
    assert choose_title(None, " Storm  hits ", None, None) == "Storm hits"


def test_html_title_without_metadata():
    section = f"""<html><head><title>Babies who eat peanuts early may avoid allergy</title></head><body>
    <h1>Allergies Health Center</h1><article><h2>Babies who eat peanuts early may avoid allergy</h2>{PROSE}
    </article></body></html>"""
    assert parse(raw(section)).title == "Babies who eat peanuts early may avoid allergy"
    site_only = f"""<html><head><title>Coast News</title><meta property="og:site_name" content="Coast News">
    </head><body><article><h1>Storm hits coast</h1>{PROSE}</article></body></html>"""
    assert parse(raw(site_only)).title == "Storm hits coast"
