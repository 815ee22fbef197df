"""The parse stage on HTML pages (issue 20): the page's own headline, site names, data tables."""

import pytest

from pipeline.stages.parse import parse
from schemas import RawArticle


def raw(data: str) -> RawArticle:
    return RawArticle.from_bytes(data.encode(), "test")


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
