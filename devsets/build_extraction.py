"""Build devsets/extraction.jsonl.xz from a checkout of mozilla/readability (Apache-2.0).

    python devsets/build_extraction.py /path/to/readability

Each line: ``name``, ``html`` (the page as saved in readability's test-pages/NAME/source.html), ``title``
(the page's own headline, checked by hand against the page: readability's expected title where it is
the headline, our reading of the page's h1 where readability kept the site name) and ``body`` (the text
of readability's expected.html, one block a line: the maintainers' reviewed main text of the page).
"""

from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path

#: news and magazine pages of readability's test-pages (other pages test parser corner cases)
PAGES = ("aktualne", "ars-1", "bbc-1", "breitbart", "buzzfeed-1", "citylab-1", "cnet", "cnn", "engadget", "folha",
         "heise", "herald-sun-1", "keep-tabular-data", "la-nacion", "lemonde-1", "liberation-1",
         "medicalnewstoday", "msn", "nytimes-1", "nytimes-2", "nytimes-3", "nytimes-4", "quanta-1", "salon-1",
         "seattletimes-1", "telegraph", "theverge", "tmz-1", "wapo-1", "wapo-2", "webmd-1", "webmd-2", "aclu",
         "guardian-1")
#: where readability's expected title is not the page's headline (it kept the site's or author's name)
TITLE_FIXES = {
    "breitbart": "'Neutral' Snopes Fact-Checker David Emery: 'Are There Any Un-Angry Trump Supporters?'",
    "keep-tabular-data": "Friday Facts #282 - 0.17 in sight",
    "guardian-1": "'What is the sea telling us?': Māori tribes fearful over whale strandings",
    "engadget": "Xbox One X review: A console that keeps up with gaming PCs",
    # the headline the page shows (its h1) differs from the <title> / og:title readability took
    "theverge": "Apple’s Vision Pro is the Retina display moment for headsets",
    "citylab-1": "Why Neon Is the Ultimate Symbol of the 20th Century",
}
BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "tr", "figcaption", "dd", "dt")


def text_of(expected_html: str) -> str:
    from lxml import html

    tree = html.fromstring(expected_html)
    out = []
    for el in tree.iter(*BLOCKS):
        if any(a.tag in BLOCKS for a in el.iterancestors()):
            continue  # counted with the block it is in
        t = " ".join(el.text_content().split())
        if t:
            out.append(t)
    return "\n".join(out)


def main(root: str) -> None:
    pages = Path(root) / "test" / "test-pages"
    dest = Path(__file__).with_name("extraction.jsonl.xz")
    with lzma.open(dest, "wt", encoding="utf-8") as fh:
        for name in PAGES:
            d = pages / name
            meta = json.loads((d / "expected-metadata.json").read_text(encoding="utf-8"))
            title = TITLE_FIXES.get(name, " ".join((meta.get("title") or "").split()))
            rec = {"name": name, "html": (d / "source.html").read_text(encoding="utf-8"), "title": title,
                   "body": text_of((d / "expected.html").read_text(encoding="utf-8"))}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{len(PAGES)} pages -> {dest} ({dest.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
