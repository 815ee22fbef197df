"""Extraction evaluation: real news pages with a known main text and headline, scored against trafilatura.

The dev set (``devsets/extraction.jsonl.xz``, built by ``devsets/build_extraction.py``) holds news pages of
mozilla/readability's test pages: the page as saved, its headline (checked by hand) and its main text
(readability's reviewed expected output). Each page goes through the parse stage and, as the baseline in
the same run, through trafilatura alone with its default options:

* body F1: token-level F1 of the body against the main text (lower-case words, counted with repeats),
  averaged over pages (the usual measure of article-extraction benchmarks);
* titles exact: the title equals the headline (whitespace and quote styles aside).

A second baseline, trafilatura without tables and comments, is what the parse stage ran before issue 20.
"""

from __future__ import annotations

import json
import lzma
import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.measure.eval.typos import EvalDataMissing

DEFAULT_DEVSET = Path(__file__).resolve().parents[3] / "devsets" / "extraction.jsonl.xz"
_TOKEN_RE = re.compile(r"\w+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


def token_f1(got: str, want: str) -> float:
    g, w = Counter(_TOKEN_RE.findall(got.lower())), Counter(_TOKEN_RE.findall(want.lower()))
    common = sum((g & w).values())
    if not common:
        return 0.0
    p, r = common / sum(g.values()), common / sum(w.values())
    return 2 * p * r / (p + r)


def same_title(got: str, want: str) -> bool:
    def norm(s: str) -> str:
        return " ".join(s.translate(_QUOTES).split())

    return norm(got) == norm(want)


@dataclass
class System:
    pages: int = 0
    f1_sum: float = 0.0
    titles_exact: int = 0
    seconds: float = 0.0
    worst: list[tuple[float, str]] = field(default_factory=list)
    wrong_titles: list[str] = field(default_factory=list)

    def add(self, name: str, title: str, body: str, want_title: str, want_body: str) -> None:
        f1 = token_f1(body, want_body)
        self.pages += 1
        self.f1_sum += f1
        self.worst.append((round(f1, 3), name))
        if same_title(title, want_title):
            self.titles_exact += 1
        else:
            self.wrong_titles.append(f"{name}: {title!r} (want {want_title!r})")

    def as_dict(self) -> dict:
        return {"pages": self.pages, "body_f1": round(self.f1_sum / self.pages, 4) if self.pages else None,
                "titles_exact": round(self.titles_exact / self.pages, 4) if self.pages else None,
                "titles_right": self.titles_exact, "ms_per_page": round(1000 * self.seconds / max(1, self.pages), 1),
                "worst_bodies": sorted(self.worst)[:5], "wrong_titles": self.wrong_titles}


def load(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise EvalDataMissing(f"extraction dev set not found: {path}")
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _trafilatura_alone(html: str, **options) -> tuple[str, str]:
    import trafilatura

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = trafilatura.bare_extraction(html, with_metadata=True, **options)
    return ((doc.title or "") if doc else ""), ((doc.text or "") if doc else "")


def evaluate(path: Path = DEFAULT_DEVSET) -> dict:
    from pipeline.errors import RejectedInput
    from pipeline.stages.parse import parse
    from schemas import RawArticle

    pages = load(path)
    ours, base, no_tables = System(), System(), System()
    received = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for page in pages:
        t0 = time.process_time()
        title, body = _trafilatura_alone(page["html"])
        base.seconds += time.process_time() - t0
        base.add(page["name"], title, body, page["title"], page["body"])
        t0 = time.process_time()
        title, body = _trafilatura_alone(page["html"], include_comments=False, include_tables=False)
        no_tables.seconds += time.process_time() - t0
        no_tables.add(page["name"], title, body, page["title"], page["body"])
        raw = RawArticle.from_bytes(page["html"].encode("utf-8"), f"devset/{page['name']}", received_at=received,
                                    media_type="text/html")
        t0 = time.process_time()
        try:
            art = parse(raw)
            title, body = art.title, art.body
        except RejectedInput:
            title, body = "", ""
        ours.seconds += time.process_time() - t0
        ours.add(page["name"], title, body, page["title"], page["body"])
    return {"devset": str(path), "newsflow": ours.as_dict(), "trafilatura": base.as_dict(),
            "trafilatura_without_tables": no_tables.as_dict()}
