"""Parse stage: a raw input (plain text, HTML page or JSON object) -> a structured ``Article``.

Pure and synchronous. Anything that is not a usable article raises ``RejectedInput`` with a one-line
reason; the caller routes it to ``news.dlq``.

Plain text is read in the layout scrapers deliver (see ``samples/``)::

    Eastern Europe Politics USA World          <- category line (optional)
    <title>                                    <- the title, often twice
    <title>
    Source: Reuters                            <- optional
      • PublishedFebruary 14, 2025             <- optional, bullet and label glued to the date
    <body paragraphs, separated by blank lines>
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple

import orjson
from dateutil import parser as dateparser

from pipeline.errors import RejectedInput
from schemas import Article, RawArticle

STAGE = "parse"
VERSION = "1"

#: multi-word section names kept together when a category line has no separators
MULTIWORD_SECTIONS = (
    "Eastern Europe", "Western Europe", "Central Europe", "Northern Europe", "Southern Europe",
    "Middle East", "North America", "South America", "Latin America", "Central America", "East Asia",
    "South Asia", "Southeast Asia", "Central Asia", "Asia Pacific", "Sub-Saharan Africa", "North Africa",
    "West Africa", "East Africa", "Southern Africa", "United States", "United Kingdom", "New Zealand",
    "Climate Change", "Human Rights", "Real Estate", "Personal Finance", "Breaking News", "Top Stories",
    "Science & Technology", "Arts & Culture", "Health & Science",
)
_SECTION_RE = re.compile(
    "|".join(re.escape(s) for s in sorted(MULTIWORD_SECTIONS, key=len, reverse=True)) + r"|\S+"
)
_SOURCE_RE = re.compile(r"^\s*(?:source|by|from)\s*:\s*(?P<v>.+?)\s*$", re.I)
_PUBLISHED_RE = re.compile(
    r"^\W*(?:published|posted|updated|date)(?:\s*(?:on|at))?\s*:?\s*(?P<v>.*\d.*?)\s*$", re.I
)
_BULLETS = "•·‣◦▪●*-–—"
_CATEGORY_SPLIT_RE = re.compile(r"\s*[|/>,;·•»]\s*")
#: fewest words of body text an article has (``min_body_words`` setting)
MIN_BODY_WORDS = 5
#: share of the body's words in navigation/account segments above which the input is a page, not an article
MAX_BOILERPLATE_SHARE = 0.5


def article_id(origin: str, payload: bytes) -> str:
    """Deterministic id: the same input from the same origin always gets the same id (replays too)."""
    h = hashlib.sha256(origin.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(payload)
    return h.hexdigest()[:32]


def parse(raw: RawArticle, *, max_bytes: int = 2_000_000, min_words: int = MIN_BODY_WORDS) -> Article:
    data = _check_payload(raw, max_bytes)
    decoded = decode_payload(data, raw.media_type, raw.origin)
    text = decoded.text
    fmt = _sniff(text, raw.media_type)
    if fmt == "json":
        fields = _parse_json(text, raw.origin)
    elif fmt == "html":
        fields = _parse_html(text, raw.origin)
    else:
        fields = parse_text(text)
    title = _clean_line(fields.get("title") or "")
    body = _clean_body(fields.get("body") or "")
    if not title and not body:
        raise RejectedInput(STAGE, raw.origin, f"no article text found in the {fmt} input")
    title_derived = not title
    if title_derived:
        title = derive_title(body)
    check_article(body, raw.origin, fmt, min_words)
    return Article(
        id=article_id(raw.origin, data),
        origin=raw.origin,
        received_at=raw.received_at,
        raw_format=fmt,
        url=fields.get("url") or None,
        source=fields.get("source") or None,
        title=title,
        title_derived=title_derived,
        body=body,
        source_categories=fields.get("categories") or [],
        published_at=published.at if (published := fields.get("published_at")) else None,
        published_date_only=bool(published and published.date_only),
        authors=fields.get("authors") or [],
        updated_at=updated.at if (updated := fields.get("updated_at")) else None,
        encoding=decoded.encoding,
        encoding_source=decoded.source,
    )


# --------------------------------------------------------------------------------------------------
# is it an article: enough text, not mostly navigation; a title when the input gave none
# --------------------------------------------------------------------------------------------------

#: the words navigation, login and consent blocks are made of ("Home / Log in / Sign in", "Accept cookies")
_NAV_WORDS = frozenset("""
    home log login logout logon sign signin signout signup in out up on register registration password
    username user email e-mail forgot reset remember me my account profile settings subscribe subscription
    unsubscribe menu search contact about us privacy policy terms conditions of use service cookie cookies
    accept reject consent help faq newsletter follow share skip to content main navigation back top next
    previous more continue submit cancel ok or and create new member members members-only here click your
    the a enter welcome sitemap site map rss advertise careers jobs store shop cart checkout
""".split())
_SEGMENT_SPLIT_RE = re.compile(r"\n|\s[/|·•»›>]\s|\s[-–—]\s")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?\u201d\"])\s+(?=[\"\u201c'(\[]?[A-Z0-9\u00c0-\u024f])")
_WORD_RE = re.compile(r"\w[\w'’-]*")


def check_article(body: str, origin: str, fmt: str, min_words: int = MIN_BODY_WORDS) -> None:
    """Raise RejectedInput unless ``body`` reads like an article: at least ``min_words`` words, and not mostly
    navigation, login or consent boilerplate (segments made only of such words, over half the words)."""
    words = _WORD_RE.findall(body)
    if len(words) < min_words:
        raise RejectedInput(STAGE, origin, f"not an article: {len(words)} word(s) of body text in the {fmt} input "
                                           f"(at least {min_words} needed)")
    boiler = 0
    for segment in _SEGMENT_SPLIT_RE.split(body):
        seg = _WORD_RE.findall(segment)
        if seg and len(seg) <= 8 and all(w.lower() in _NAV_WORDS for w in seg):
            boiler += len(seg)
    if boiler > MAX_BOILERPLATE_SHARE * len(words):
        raise RejectedInput(STAGE, origin, f"not an article: {boiler} of its {len(words)} words are navigation or "
                                           "login boilerplate")


def derive_title(body: str, max_chars: int = 120) -> str:
    """A title for text that came without one: its first sentence, cut at a word before ``max_chars``."""
    first = _SENTENCE_END_RE.split(body.split("\n\n", 1)[0].strip(), 1)[0].strip()
    first = " ".join(first.split())
    if len(first) > max_chars:
        first = first[:max_chars].rsplit(" ", 1)[0].rstrip(",;:-–—") + "…"
    elif first.endswith(".") and not first.endswith(".."):
        first = first[:-1]
    return first


# --------------------------------------------------------------------------------------------------
# payload checks
# --------------------------------------------------------------------------------------------------


def _check_payload(raw: RawArticle, max_bytes: int) -> bytes:
    try:
        data = raw.payload_bytes()
    except ValueError:
        raise RejectedInput(STAGE, raw.origin, "payload is not valid base64") from None
    if len(data) > max_bytes:
        raise RejectedInput(STAGE, raw.origin, f"payload of {len(data):,} bytes is over the limit of {max_bytes:,}")
    if not data.strip():
        raise RejectedInput(STAGE, raw.origin, "empty input")
    return data


def _looks_binary(data: bytes) -> bool:
    head = data[:4096]
    return b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) * 0.05


def _control_ratio(text: str) -> float:
    head = text[:4096]
    bad = sum(1 for c in head if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f")
    return bad / max(1, len(head))


# --------------------------------------------------------------------------------------------------
# decoding: byte-order mark, declared charset, detection; only then "binary"
# --------------------------------------------------------------------------------------------------

#: longest first: the UTF-32 LE mark starts with the UTF-16 LE one
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_META_CHARSET_RE = re.compile(
    rb"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([\w.:-]+)", re.I  # <meta charset=...> and http-equiv content=
)
_XML_DECL_RE = re.compile(rb"^\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
#: labels the WHATWG Encoding Standard decodes as windows-1252 (what browsers do with these declarations)
_WINDOWS_1252_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "iso_8859-1",
                        "cp819", "ibm819", "windows-1252", "cp1252", "x-cp1252"}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    #: how the encoding was chosen: utf-8, bom, http-header, meta, xml-declaration, detected
    source: str


def declared_charset(data: bytes, media_type: str | None) -> tuple[str, str] | None:
    """The charset the input declares, as (Python codec name, where): the HTTP header (``media_type``
    parameter), then a ``<meta>`` tag or the XML declaration in the first 4 KB. Unknown labels are ignored."""
    candidates = []
    if media_type and (m := _HEADER_CHARSET_RE.search(media_type)):
        candidates.append((m.group(1), "http-header"))
    head = data[:4096]
    if m := _XML_DECL_RE.search(head):
        candidates.append((m.group(1).decode("ascii"), "xml-declaration"))
    if m := _META_CHARSET_RE.search(head):
        candidates.append((m.group(1).decode("ascii"), "meta"))
    for label, where in candidates:
        label = label.strip().lower()
        if label in _WINDOWS_1252_LABELS:
            return "cp1252", where
        try:
            return codecs.lookup(label).name, where
        except LookupError:
            continue
    return None


def decode_payload(data: bytes, media_type: str | None, origin: str) -> Decoded:
    """The input as text, and which encoding was used: a byte-order mark wins, then a declared charset,
    then UTF-8, then detection (charset-normalizer). Raises RejectedInput only when none of them gives
    text (binary data). A single-byte declaration on bytes that are valid UTF-8 with non-ASCII characters
    loses to UTF-8: such pages are mislabelled far more often than Latin text happens to be valid UTF-8."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(Decoded(data.decode(codec).lstrip("\ufeff"), codec.replace("-sig", ""), "bom"), origin)
            except UnicodeDecodeError as exc:
                raise RejectedInput(STAGE, origin, f"invalid {codec} after its byte-order mark "
                                                   f"(undecodable byte at offset {exc.start})") from None
    try:
        utf8: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    declared = declared_charset(data, media_type)
    if declared is not None:
        codec, where = declared
        if not (utf8 is not None and not _multibyte(codec) and not utf8.isascii()):
            try:
                return _checked(Decoded(data.decode(codec), codec, where), origin)
            except UnicodeDecodeError:
                pass  # a wrong declaration: go on with UTF-8 and detection
    if utf8 is not None:
        return _checked(Decoded(utf8, "utf-8", "utf-8"), origin)
    if _looks_binary(data):
        raise RejectedInput(STAGE, origin, "binary data (control bytes; no byte-order mark, declared charset "
                                           "or detectable text encoding)")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise RejectedInput(STAGE, origin, "binary data (not UTF-8, no declared charset, no text encoding detected)")
    guessed = _checked(Decoded(str(best), codecs.lookup(best.encoding).name, "detected"), origin)
    if not _reads_as_words(guessed.text):
        # a guess is only a guess: random bytes decode in some single-byte code page too (1 in 22 of the fuzz
        # test's random inputs did), so a guessed text must read as words, with no control characters
        raise RejectedInput(STAGE, origin, f"binary data (not UTF-8, no declared charset; decoded as "
                                           f"{guessed.encoding} it is not words)")
    return guessed


_WORDLIKE = re.compile(r"^[\W_]*[^\W\d_]+(?:[-'’][^\W\d_]+)*[\W_]*$")


def _reads_as_words(text: str) -> bool:
    """No control characters but tab and line breaks, and at least 60% of the tokens are words (letters,
    with hyphens or apostrophes inside and punctuation around)."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        return False
    tokens = text.split()
    return len(tokens) >= 2 and sum(bool(_WORDLIKE.match(t)) for t in tokens) >= 0.6 * len(tokens)


def _multibyte(codec: str) -> bool:
    """UTF-8/16/32 and the East Asian multi-byte codecs (Python codec names)."""
    return any(k in codec for k in ("gb", "big5", "jis", "euc", "kr", "hz", "utf"))


def _checked(decoded: Decoded, origin: str) -> Decoded:
    if "\x00" in decoded.text or _control_ratio(decoded.text) > 0.05:
        raise RejectedInput(STAGE, origin, f"binary data (control characters after decoding as {decoded.encoding}), "
                                           "not text")
    return decoded


def _sniff(text: str, media_type: str | None) -> str:
    mt = (media_type or "").lower()
    if "json" in mt:
        return "json"
    if "html" in mt or "xml" in mt:
        return "html"
    if mt.startswith("text/plain"):
        return "text"
    head = text.lstrip()[:512].lower()
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith(("<!doctype html", "<html", "<?xml")) or (
        head.startswith("<") and re.search(r"<(html|head|body|article|p|div|h1|title)\b", text[:4096], re.I)
    ):
        return "html"
    return "text"


# --------------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------------

_JSON_KEYS = {
    "title": ("title", "headline", "name"),
    "body": ("body", "text", "content", "articleBody", "description", "summary"),
    "url": ("url", "link", "canonical_url"),
    "source": ("source", "publisher", "site", "outlet"),
    "published": ("published", "published_at", "publishedAt", "date", "datePublished", "pubDate"),
    "updated": ("updated_at", "updatedAt", "updated", "dateModified", "modified", "modified_at", "lastModified"),
    "categories": ("categories", "category", "section", "sections", "tags"),
    "authors": ("authors", "author", "byline"),
}


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if obj.get(k) not in (None, "", []):
            return obj[k]
    return None


def _as_text(value: Any, origin: str, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # {"name": "Reuters"} style
        value = value.get("name") or value.get("title") or value.get("text") or ""
    if isinstance(value, list):
        value = "\n\n".join(_as_text(v, origin, field) for v in value)
    if not isinstance(value, (str, int, float)):
        raise RejectedInput(STAGE, origin, f"JSON field {field!r} is not text")
    return str(value)


def _as_list(value: Any, origin: str, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [s for s in (p.strip() for p in _CATEGORY_SPLIT_RE.split(value)) if s]
    if isinstance(value, list):
        return [t for v in value if (t := _as_text(v, origin, field).strip())]
    return [_as_text(value, origin, field)]


def _parse_json(text: str, origin: str) -> dict[str, Any]:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RejectedInput(STAGE, origin, f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise RejectedInput(STAGE, origin, f"expected a JSON object, got {type(obj).__name__}")
    fields: dict[str, Any] = {
        "title": _as_text(_first(obj, _JSON_KEYS["title"]), origin, "title"),
        "body": _as_text(_first(obj, _JSON_KEYS["body"]), origin, "body"),
        "url": _as_text(_first(obj, _JSON_KEYS["url"]), origin, "url").strip() or None,
        "source": _as_text(_first(obj, _JSON_KEYS["source"]), origin, "source").strip() or None,
        "categories": _as_list(_first(obj, _JSON_KEYS["categories"]), origin, "categories"),
        "authors": _as_list(_first(obj, _JSON_KEYS["authors"]), origin, "authors"),
    }
    published = _first(obj, _JSON_KEYS["published"])
    fields["published_at"] = parse_date(str(published)) if published is not None else None
    updated = _first(obj, _JSON_KEYS["updated"])
    fields["updated_at"] = parse_date(str(updated)) if updated is not None else None
    if fields["body"] and "<" in fields["body"] and re.search(r"</?(p|div|br|span|a)\b", fields["body"], re.I):
        fields["body"] = html_to_text(fields["body"])
    return fields


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------


def html_to_text(html: str) -> str:
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(html)
    except Exception:  # noqa: BLE001 - lxml raises several unrelated types on garbage
        return re.sub(r"<[^>]+>", " ", html)
    blocks = [" ".join(el.text_content().split()) for el in tree.iter("p", "h2", "h3", "li", "blockquote")]
    blocks = [b for b in blocks if b]
    return "\n\n".join(blocks) if blocks else " ".join(tree.text_content().split())


def _parse_html(text: str, origin: str) -> dict[str, Any]:
    import trafilatura

    page = _html_tree(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            doc = trafilatura.bare_extraction(
                text, with_metadata=True, include_comments=False, **extraction_options(page),
                date_extraction_params=HTMLDATE_PARAMS,
            )
        except (ValueError, RecursionError) as exc:
            raise RejectedInput(STAGE, origin, f"unreadable HTML: {exc}") from None
    if doc is None:
        raise RejectedInput(STAGE, origin, "HTML page has no readable main text")
    title = choose_title(page, doc.title, doc.sitename, doc.url)
    lines = [ln.strip() for ln in (doc.text or "").splitlines() if ln.strip()]
    if lines and lines[0] in (title, (doc.title or "").strip()):
        lines = lines[1:]
    return {
        "title": title,
        "body": _join_blocks(lines),
        "url": doc.url or None,
        "source": doc.sitename or None,
        "categories": [c for c in (doc.categories or []) if c],
        "authors": [a.strip() for a in (doc.author or "").split(";") if a.strip()],
        "published_at": html_published(text, doc.date),
        "updated_at": html_modified(text),
    }


_MODIFIED_RE = re.compile(
    r"""<meta\b[^>]*?(?:property|name|itemprop)\s*=\s*["'](?:article:modified_time|og:updated_time|dateModified|last-modified)["'][^>]*?>"""
    r'|"dateModified"\s*:\s*"[^"]{6,40}"',
    re.I,
)


def html_modified(html: str) -> PublishDate | None:
    """When the page says it was last modified (``article:modified_time``, ``og:updated_time``, JSON-LD
    ``dateModified``); ``None`` when it does not say."""
    m = _MODIFIED_RE.search(html[:200_000])
    if not m:
        return None
    tag = m.group(0)
    v = re.search(r"""content\s*=\s*["']([^"']{6,40})["']""", tag, re.I) or re.search(r':\s*"([^"]{6,40})"', tag)
    return parse_date(v.group(1)) if v else None


# --------------------------------------------------------------------------------------------------
# HTML: extraction options and the page's own headline
# --------------------------------------------------------------------------------------------------

#: a data table has at least this many rows of two cells or more
TABLE_MIN_ROWS = 3
#: ... and at most this share of its text in links (navigation and "most read" boxes are link tables)
TABLE_MAX_LINK_SHARE = 0.5
#: between a headline and the site's name in a title: "Storm hits coast | Coast News", "... - The Namibian"
_TITLE_SEP_RE = re.compile(r"\s+(?:[|\-–—:·•»]|::)\s+")
_JSONLD_RE = re.compile(r"\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*$", re.S)


def _html_tree(text: str):
    """The page as an lxml tree for the metadata trafilatura does not choose for us; None if unreadable."""
    from lxml import html as lxml_html

    try:  # the payload is already text: bytes in UTF-8, told so, whatever the page's meta tag says
        return lxml_html.fromstring(text.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - lxml raises several unrelated types on garbage; trafilatura decides
        return None


def extraction_options(page) -> dict[str, Any]:
    """trafilatura's options for this page: tables are kept when the page has a data table (standings,
    results, figures), since its main text then is or includes the table; layout and link tables are not
    data."""
    return {"include_tables": page is not None and any(_is_data_table(t) for t in page.iter("table"))}


def _is_data_table(table) -> bool:
    if table.find(".//table") is not None or table.find(".//p") is not None:
        return False  # a layout table: it holds blocks, not cells of data
    rows = [r for r in table.iter("tr") if len(r.findall("td")) + len(r.findall("th")) >= 2]
    if len(rows) < TABLE_MIN_ROWS:
        return False
    chars = len(" ".join(table.text_content().split()))
    linked = sum(len(" ".join(a.text_content().split())) for a in table.iter("a"))
    return chars > 0 and linked <= TABLE_MAX_LINK_SHARE * chars


def _join_blocks(lines: list[str]) -> str:
    """Paragraphs separated by a blank line; the rows of a table (trafilatura writes ``| a | b |``) stay
    together as one block."""
    blocks: list[str] = []
    for ln in lines:
        if ln.startswith("|") and blocks and blocks[-1].startswith("|"):
            blocks[-1] += "\n" + ln
        else:
            blocks.append(ln)
    return "\n\n".join(blocks)


def _meta(page, *keys: str) -> str:
    for key in keys:
        for el in page.xpath("//meta[@property=$k or @name=$k]", k=key):
            value = " ".join((el.get("content") or "").split())
            if value:
                return value
    return ""


def _jsonld_objects(page):
    for script in page.xpath("//script[@type='application/ld+json']"):
        m = _JSONLD_RE.match(script.text or "")
        try:
            data = orjson.loads(m.group(1)) if m else None
        except orjson.JSONDecodeError:
            continue
        stack = [data]
        while stack:
            obj = stack.pop()
            if isinstance(obj, list):
                stack.extend(obj)
            elif isinstance(obj, dict):
                yield obj
                stack.extend(v for k, v in obj.items() if k in ("@graph", "mainEntity", "mainEntityOfPage"))


def _jsonld_headline(page) -> tuple[str, str]:
    """The headline and publisher name of the page's JSON-LD article, if it has one."""
    for obj in _jsonld_objects(page):
        headline = obj.get("headline")
        if isinstance(headline, str) and headline.strip():
            pub = obj.get("publisher")
            name = pub.get("name") if isinstance(pub, dict) else pub if isinstance(pub, str) else ""
            return " ".join(headline.split()), name if isinstance(name, str) else ""
    return "", ""


def _key(s: str) -> str:
    """A name reduced for comparison: lower case, letters and digits only, without a leading "the"."""
    k = re.sub(r"[\W_]+", "", s.lower())
    return k[3:] if k.startswith("the") and len(k) > 6 else k


def _site_keys(names: list[str], url: str | None) -> set[str]:
    keys = {_key(n) for n in names if n and len(_key(n)) >= 3}
    if url:
        host = re.sub(r"^[a-z]+://", "", url.lower()).split("/")[0].split(":")[0]
        labels = [lab for lab in host.split(".") if lab not in ("www", "m", "amp", "edition", "news")]
        # the registered name: the label before the public suffix (bbc.co.uk -> bbc, namibian.com.na -> namibian)
        keys.update(_key(lab) for lab in labels[:-1] if len(lab) >= 3 and lab not in ("com", "net", "org", "co"))
    return keys


def _is_site_name(segment: str, keys: set[str]) -> bool:
    k = _key(segment)
    if not k or len(segment.split()) > 6:
        return False
    return any(k == s or (len(s) >= 3 and (s in k or k in s)) for s in keys)


def strip_site_name(title: str, names: list[str], url: str | None = None) -> str:
    """``Storm hits coast | Coast News`` -> ``Storm hits coast``: a leading or trailing part of the title that
    is the site's name (its og:site_name, its publisher, its domain) goes; the headline itself stays."""
    keys = _site_keys(names, url)
    parts = _TITLE_SEP_RE.split(title)
    seps = _TITLE_SEP_RE.findall(title)
    if len(parts) < 2 or not keys:
        return title
    while len(parts) > 1 and _is_site_name(parts[-1], keys):
        parts.pop()
        seps.pop()
    while len(parts) > 1 and _is_site_name(parts[0], keys):
        parts.pop(0)
        seps.pop(0)
    out = parts[0] + "".join(sep + part for sep, part in zip(seps, parts[1:]))
    return out if len(out) >= 3 else title


def choose_title(page, extracted: str | None, sitename: str | None, url: str | None) -> str:
    """The page's own headline, without the site's name: the ``h1`` that og:title or the JSON-LD
    ``headline`` confirms (or that one of them, or the document title, starts with before a separator:
    ``Headline | Author``), else the JSON-LD ``headline`` or ``og:title``, else an ``h1`` sharing most of
    its words with the document title, else the document title, else what trafilatura chose."""
    extracted = " ".join((extracted or "").split())
    if page is None:
        return extracted
    headline, publisher = _jsonld_headline(page)
    og = _meta(page, "og:title", "twitter:title")
    doc_title = " ".join((page.findtext(".//title") or "").split())
    h1s = [t for t in (" ".join(h.text_content().split()) for h in page.iter("h1")) if t]
    names = [sitename or "", publisher, _meta(page, "og:site_name", "application-name")]
    metas = [t for t in (headline, og) if t]
    title = next((h for h in h1s if any(_key(h) == _key(m) for m in metas)), "")
    title = title or next((h for h in h1s for m in metas + [doc_title] if _starts_headline(m, h)), "")
    title = title or (metas[0] if metas else "")
    if not title:
        doc_words = set(_key_words(doc_title))
        title = next((h for h in h1s if (w := _key_words(h)) and sum(x in doc_words for x in w) >= 0.5 * len(w)), "")
    # no page metadata and no h1 it confirms: the document title (an h1 that shares nothing with it is a
    # section's name: "Allergies Health Center")
    if not title and doc_title and not _is_site_name(doc_title, _site_keys(names, url)):
        title = doc_title  # (a <title> that is only the site's name is no headline)
    title = title or extracted
    return strip_site_name(title, names, url) if title else ""


def _key_words(s: str) -> list[str]:
    return re.findall(r"\w+", s.lower())


def _starts_headline(title: str, h1: str) -> bool:
    """``Headline | Author | Site`` starts with the h1 ``Headline``, then a separator."""
    if len(h1) < 10 or not title.startswith(h1):
        return False
    return bool(_TITLE_SEP_RE.match(title, len(h1)))


# --------------------------------------------------------------------------------------------------
# plain text (scraper layout)
# --------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------
# publish dates: the full timestamp in UTC, date-only values marked, never a copyright year
# --------------------------------------------------------------------------------------------------


class PublishDate(NamedTuple):
    at: datetime  # in UTC; midnight UTC of the day when ``date_only``
    date_only: bool


#: htmldate (through trafilatura) keeps the time of day and the offset when the page gives them
HTMLDATE_PARAMS = {"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
_COPYRIGHT_RE = re.compile(r"©|\(c\)|&copy;|\bcopyright\b|\ball rights reserved\b", re.I)
#: two defaults differing in year, month, day and hour: a value that gives different results lacks that part
#: (minutes and seconds left out of a time are zero, from the first)
_DEFAULTS = (datetime(2000, 1, 1, 0, 0, 0), datetime(2001, 2, 2, 13, 0, 0))


def parse_date(value: str) -> PublishDate | None:
    """A published date in UTC (a value without an offset is taken as UTC), marked ``date_only`` when it has
    no time of day. ``None`` when it is not a whole date (a year alone, "March 16"), or is a copyright line
    ("© 2025 Sports Daily")."""
    value = value.strip().lstrip(_BULLETS).strip()
    value = re.sub(r"^(?:published|posted|updated)\s*:?\s*", "", value, flags=re.I)
    if not value or len(value) > 80 or _COPYRIGHT_RE.search(value):
        return None
    try:
        a, b = (dateparser.parse(value, fuzzy=True, default=d) for d in _DEFAULTS)
    except (ValueError, OverflowError, TypeError):
        return None
    if a is None or b is None or (a.year, a.month, a.day) != (b.year, b.month, b.day):
        return None  # a year alone, a month, a day without its year: not a publish date
    date_only = a.hour != b.hour
    if date_only:
        return PublishDate(datetime(a.year, a.month, a.day, tzinfo=timezone.utc), True)
    if a.tzinfo is None:
        a = a.replace(tzinfo=timezone.utc)
    return PublishDate(a.astimezone(timezone.utc), False)


def html_published(html: str, found: str | None) -> PublishDate | None:
    """The publish date of a page from htmldate's answer ``found`` (``HTMLDATE_PARAMS``): a time of exactly
    00:00:00 with no offset is what htmldate gives for a date without a time, so it counts as date-only.
    htmldate's last resorts are a copyright year or a lone year, both given as 1 January: such an answer is
    kept only when htmldate's search of the page's markup alone (no text patterns) finds that day too."""
    if not found:
        return None
    if m := re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T00:00:00", found):
        if m.group(2, 3) == ("01", "01"):
            from htmldate import find_date

            if find_date(html, extensive_search=False, original_date=True) != found[:10]:
                return None
        found = found[:10]
    return parse_date(found)


def split_categories(line: str) -> list[str]:
    line = line.strip()
    if _CATEGORY_SPLIT_RE.search(line):
        return [p for p in (s.strip() for s in _CATEGORY_SPLIT_RE.split(line)) if p]
    return _SECTION_RE.findall(line)


def parse_text(text: str) -> dict[str, Any]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    nonempty = [(i, ln.strip()) for i, ln in enumerate(lines) if ln.strip()]
    if not nonempty:
        return {"title": "", "body": ""}
    source: str | None = None
    published = None
    header_end = None  # index in `lines` of the last header line
    header: list[str] = []
    # The header is at most the first eight non-empty lines, ended by the Source:/Published lines.
    for k, (i, ln) in enumerate(nonempty[:8]):
        if m := _SOURCE_RE.match(ln):
            source = m.group("v")
            header_end = i
            continue
        stripped = ln.lstrip(_BULLETS).strip()
        if (m := _PUBLISHED_RE.match(stripped)) and (d := parse_date(m.group("v"))):
            published = d
            header_end = i
            continue
        if header_end is not None:
            break
        header.append(ln)
    if header_end is None:
        # No metadata lines: the first line is the title when it reads like one.
        first_i, first = nonempty[0]
        if len(first) <= 250 and not first.endswith((".", "?", "!", "\u201d", '"')):
            title, body_start, cats = first, first_i + 1, []
        else:
            title, body_start, cats = "", 0, []
    else:
        body_start = header_end + 1
        # Collapse the repeated title; what stands before the title is the category line.
        dedup: list[str] = []
        for ln in header:
            if not dedup or dedup[-1] != ln:
                dedup.append(ln)
        repeated = [ln for ln in dedup if header.count(ln) > 1]
        if repeated:
            title = repeated[0]
            before = dedup[: dedup.index(title)]
        elif dedup:
            title = dedup[-1]
            before = dedup[:-1]
        else:
            title, before = "", []
        cats = [c for ln in before for c in split_categories(ln)]
    body = "\n".join(lines[body_start:])
    return {"title": title, "body": body, "source": source, "published_at": published, "categories": cats}


def _clean_line(s: str) -> str:
    return " ".join(s.split())


def _clean_body(s: str) -> str:
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = "\n".join(ln.rstrip() for ln in s.split("\n"))
    s = re.sub(r"\n{3,}", "\n\n", s)
    return s.strip()
