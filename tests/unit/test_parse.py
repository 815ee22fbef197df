from datetime import datetime, timezone

import orjson
import pytest

from pipeline.errors import RejectedInput
from pipeline.stages.parse import article_id, parse, parse_date, split_categories
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
    assert a.published_at == datetime(2025, 2, 14, tzinfo=timezone.utc) and a.published_date_only
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
    assert a.published_at.isoformat() == "2025-03-01T09:00:00+00:00" and not a.published_date_only  # in UTC
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


# --------------------------------------------------------------------------------------------------
# decoding (issue 18): byte-order mark, declared charset, detection, and only then binary
# --------------------------------------------------------------------------------------------------

_PARA = ("The café on the corner closed its doors on Tuesday after forty years, and the owner’s "
         "daughter said the neighbours would miss the breakfasts and the morning talk.")
_PARA_LATIN = _PARA.replace("’", "'")  # no curly quote in Latin-1


def test_html_declaring_latin1_in_a_meta_tag_is_decoded_by_it():
    html = (f'<html><head><meta charset="iso-8859-1"><title>Café closes</title></head><body><article>'
            f'<h1>Café closes</h1><p>{_PARA_LATIN}</p><p>Regulars gathered outside.</p>'
            f'</article></body></html>').encode("latin-1")
    a = parse(raw(html, "cafe.html"))
    assert "café on the corner" in a.body
    assert (a.encoding, a.encoding_source) == ("cp1252", "meta")  # browsers read iso-8859-1 as windows-1252


def test_xml_declaration_and_http_header_charsets():
    xml = (f'<?xml version="1.0" encoding="ISO-8859-15"?>\n<html><head><title>Café</title></head><body>'
           f'<article><p>{_PARA_LATIN} Price: 5 €.</p></article></body></html>').encode("iso-8859-15")
    a = parse(raw(xml, "cafe.xml"))
    assert "5 €" in a.body and (a.encoding, a.encoding_source) == ("iso8859-15", "xml-declaration")
    text = f"Café closes\n\n{_PARA}".encode("cp1252")
    a = parse(raw(text, "cafe.txt", "text/plain; charset=windows-1252"))
    assert a.body == _PARA and (a.encoding, a.encoding_source) == ("cp1252", "http-header")


def test_cp1252_text_without_a_declaration_is_detected():
    a = parse(raw(f"Café closes\n\n“{_PARA}”".encode("cp1252"), "cafe.txt"))
    assert a.title == "Café closes" and a.body == f"“{_PARA}”"
    assert a.encoding_source == "detected" and a.encoding.startswith("cp125")


def test_random_bytes_that_some_code_page_happens_to_decode_are_binary_not_an_article():
    """Found by the fuzz fault test on 2026-12-02: these 32 random bytes are not UTF-8, and charset-normalizer
    reads them as cp852 (a control character and no words); the guess must not make them an article."""
    from pipeline.errors import RejectedInput

    blob = b"\xff(Qz\x8d\xbdE\nD\x91i=\xd1\xa8Pdq-\xfd)\xec\xe7\x1f6\x9br\x9cM\x9b\xc6;\xb8"
    with pytest.raises(RejectedInput, match="binary data"):
        parse(raw(blob, "fuzz/8859-random-bytes"))


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_byte_order_mark_decides(codec):
    data = f"Café closes\n\n{_PARA}".encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    a = parse(raw(data, "cafe.txt"))
    assert a.title == "Café closes" and a.body == _PARA and a.encoding_source == "bom"


def test_plain_utf8_says_so_and_a_wrong_single_byte_declaration_loses_to_valid_utf8():
    a = parse(raw(f"Café closes\n\n{_PARA}", "cafe.txt"))
    assert (a.encoding, a.encoding_source) == ("utf-8", "utf-8")
    html = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"></head>'
            f'<body><article><h1>Café closes</h1><p>{_PARA}</p></article></body></html>').encode("utf-8")
    a = parse(raw(html, "cafe.html"))
    assert "café on the corner" in a.body and a.encoding == "utf-8"


def test_the_http_endpoint_keeps_the_charset_for_the_parse_stage():
    from pipeline.worker.http import raws_from_body

    body = f"Café closes\n\n{_PARA}".encode("cp1252")
    [r] = raws_from_body(body, "text/plain; charset=windows-1252", "http:/articles")
    a = parse(r)
    assert a.body == _PARA and a.encoding_source == "http-header"


# --------------------------------------------------------------------------------------------------
# publish dates (issue 18): the full timestamp in UTC, date-only marked, never a copyright year
# --------------------------------------------------------------------------------------------------

_STORM = ("<p>A powerful storm made landfall on Tuesday, cutting power to thousands of homes along the coast.</p>"
          "<p>Emergency services said roads were closed and residents should stay indoors until the wind drops.</p>")


def _page(head: str = "", body: str = "", footer: str = "") -> bytes:
    return (f"<html><head><title>Storm hits coast</title>{head}</head><body><article><h1>Storm hits coast</h1>"
            f"{body}{_STORM}</article><footer>{footer}</footer></body></html>").encode()


@pytest.mark.parametrize("head, body, expected, date_only", [
    ('<meta property="article:published_time" content="2025-03-16T23:30:00-05:00">', "",
     "2025-03-17T04:30:00+00:00", False),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2025-03-16T18:30:00Z"}'
     '</script>', "", "2025-03-16T18:30:00+00:00", False),
    ("", '<time datetime="2025-03-16T18:30:00+01:00">16 March</time>', "2025-03-16T17:30:00+00:00", False),
    ('<meta name="date" content="2025-03-16">', "", "2025-03-16T00:00:00+00:00", True),
    ("", "<p>Published 16 March 2025</p>", "2025-03-16T00:00:00+00:00", True),
])
def test_html_publish_dates_keep_time_and_offset_in_utc(head, body, expected, date_only):
    a = parse(raw(_page(head, body), "storm.html"))
    assert a.published_at.isoformat() == expected and a.published_date_only is date_only


def test_a_copyright_footer_is_not_a_publish_date():
    a = parse(raw(_page(footer="© 2025 Sports Daily. All rights reserved."), "storm.html"))
    assert a.published_at is None
    a = parse(raw(b"Storm hits coast\n\nPublished: (c) 2025 Sports Daily\n\nA powerful storm made landfall.",
                  "storm.txt"))
    assert a.published_at is None
    a = parse(raw(orjson.dumps({"title": "Storm", "body": "A storm made landfall on the coast.", "date": "© 2025 Daily"})))
    assert a.published_at is None


@pytest.mark.parametrize("value, expected, date_only", [
    ("2025-03-16T23:30:00-05:00", "2025-03-17T04:30:00+00:00", False),
    ("Mon, 17 Mar 2025 04:30:00 GMT", "2025-03-17T04:30:00+00:00", False),
    ("14 Feb 2025 23:30", "2025-02-14T23:30:00+00:00", False),  # no offset: taken as UTC
    ("February 14, 2025", "2025-02-14T00:00:00+00:00", True),
    ("2025", None, None), ("March 16", None, None), ("© 2025 Sports Daily", None, None),
])
def test_parse_date(value, expected, date_only):
    got = parse_date(value)
    if expected is None:
        assert got is None
    else:
        assert (got.at.isoformat(), got.date_only) == (expected, date_only)


# --------------------------------------------------------------------------------------------------
# what is an article (issue 18): enough text, not mostly navigation; a derived title when none is given
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, reason", [
    (b"x", "not an article: 0 word(s) of body text"),
    (b'{"title": "Breaking", "body": "More soon."}', "not an article: 2 word(s)"),
    (b'<html><head><title>Login</title></head><body><nav><a href="/">Home</a> / <a>Log in</a> / <a>Sign in</a>'
     b'</nav><form><input name="user"><input type="password"></form></body></html>', "login boilerplate"),
    (b"Members area\n\nSign in\nRegister\nForgot your password?\nAccept cookies\nPrivacy policy", "boilerplate"),
])
def test_what_is_not_an_article_is_rejected_with_the_reason(data, reason):
    with pytest.raises(RejectedInput) as exc:
        parse(raw(data, "page"))
    assert reason in exc.value.reason and exc.value.stage == "parse"


def test_a_short_real_article_with_a_share_line_passes():
    a = parse(raw("Port strike\n\nDock workers stopped work over pay on Monday.\n\nShare | Follow us"))
    assert a.title == "Port strike" and not a.title_derived


def test_the_minimum_is_a_setting():
    with pytest.raises(RejectedInput, match="at least 20 needed"):
        parse(raw("Port strike\n\nDock workers stopped work over pay on Monday."), min_words=20)


def test_text_without_a_title_line_gets_a_derived_title():
    text = ("Storm hits Bergen. Schools were closed on Monday as winds reached 40 metres a second, "
            "and ferries stayed in port.")
    a = parse(raw(text, "stdin"))
    assert a.title == "Storm hits Bergen" and a.title_derived and a.body == text
    long_first = "The council " + "and the regional authority " * 8 + "agreed on a plan. It starts in May."
    a = parse(raw(long_first + "\n\nA second paragraph follows here.", "stdin"))
    assert a.title_derived and a.title.endswith("…") and len(a.title) <= 121 and a.body.startswith("The council")
