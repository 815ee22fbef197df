"""Build devsets/stories-ecbplus.jsonl.xz from a checkout of cltl/ECB-parser (its ``ECB+`` folder is the
ECB+ corpus, CC BY 3.0, Cybulska and Vossen 2014).

    python devsets/build_stories.py /path/to/ECB-parser

ECB+ holds 982 real news articles found through Google Search, in 43 topics; each topic has two seminal
events of one kind (the ``ecb`` documents: one event, e.g. Tara Reid checks into rehab; the ``ecbplus``
documents: another of the same kind, e.g. Lindsay Lohan checks into rehab), reported by several outlets.
The story label of an article is its topic and half (``1/ecb``, ``1/ecbplus``): same label, same
incident. Two halves of a topic are the hard negatives (same kind of event, same vocabulary).

Each line: ``doc`` (the corpus file name), ``story``, ``topic``, ``url`` (the ``ecbplus`` documents carry
the page they came from as sentence 0; the ``ecb`` ones none), ``source`` (the URL's host, else None),
``title`` (the first sentence after the URL) and ``body`` (the other sentences, one a line).
"""

from __future__ import annotations

import json
import lzma
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}'’”]|n't|'s|'re|'ll|'ve|'d|'m)")
_NO_SPACE_AFTER = re.compile(r"([(\[{$“‘]) ")
_NUMBER_GAP = re.compile(r"(\d)([:.,]) (\d)")  # "11: 25", "2. 6": the tokenizer split a number


def detokenize(tokens: list[str]) -> str:
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    text = _NO_SPACE_AFTER.sub(r"\1", text)
    text = _NUMBER_GAP.sub(r"\1\2\3", text)
    return text


def read_doc(path: Path) -> dict:
    root = ET.parse(path).getroot()
    sentences: dict[int, list[str]] = {}
    for tok in root.iter("token"):
        sentences.setdefault(int(tok.get("sentence", "0")), []).append(tok.text or "")
    order = [sentences[k] for k in sorted(sentences)]
    name = path.name
    topic = name.split("_", 1)[0]
    half = "ecbplus" if name.endswith("ecbplus.xml") else "ecb"
    url = None
    if half == "ecbplus" and order and order[0] and order[0][0].lower().startswith("http"):
        url = "".join(order.pop(0))
    lines = [detokenize(s) for s in order if s]
    title, body = (lines[0], "\n".join(lines[1:])) if lines else ("", "")
    host = urlsplit(url).netloc.lower().removeprefix("www.") if url else None
    return {"doc": name, "story": f"{topic}/{half}", "topic": topic, "url": url, "source": host or None,
            "title": title, "body": body}


def main(checkout: str, out: str = "devsets/stories-ecbplus.jsonl.xz") -> None:
    folder = Path(checkout) / "ECB+"
    files = sorted(folder.glob("*/*.xml"), key=lambda p: (int(p.parent.name), p.name))
    docs = [read_doc(p) for p in files]
    with lzma.open(out, "wt", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    stories = {d["story"] for d in docs}
    print(f"{len(docs)} articles, {len(stories)} stories -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
