"""Readable terminal output of records (rich)."""

from __future__ import annotations

from pydantic import BaseModel
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from schemas import DeadLetter, DuplicateArticle, EnrichedArticle


def article_panel(a: EnrichedArticle) -> Panel:
    meta = Table.grid(padding=(0, 1))
    meta.add_column(style="bold cyan", no_wrap=True)
    meta.add_column()
    meta.add_row("id", a.id)
    meta.add_row("source", f"{a.source or '-'}   published {a.published_at.date() if a.published_at else '-'}"
                           f"   language {a.language or '-'}   {a.word_count} words, {a.reading_time_s} s read")
    if a.source_categories or a.categories:
        cats = ", ".join(a.source_categories)
        if a.categories:
            cats += ("  |  " if cats else "") + ", ".join(f"{c.label} {c.score:.2f}" for c in a.categories[:3])
        meta.add_row("categories", cats)
    if a.entities:
        ents = Text()
        for i, e in enumerate(a.entities[:10]):
            if i:
                ents.append(", ")
            ents.append(e.canonical or e.text, style="bold")
            ents.append(f" {e.label}" + (f"/{e.country_code}" if e.country_code else "") + (f"×{e.count}" if e.count > 1 else ""),
                        style="dim")
        meta.add_row("entities", ents)
    if a.keywords:
        meta.add_row("keywords", ", ".join(a.keywords[:8]))
    if a.sentiment:
        tone = f"{a.sentiment.label} {a.sentiment.score:+.2f}"
        if a.entity_sentiment:
            tone += "  (" + ", ".join(f"{s.entity} {s.score:+.2f}" for s in a.entity_sentiment[:5]) + ")"
        meta.add_row("sentiment", tone)
    if a.places:
        meta.add_row("places", ", ".join(f"{p.name}/{p.country_code or '-'}" + (f"×{p.count}" if p.count > 1 else "")
                                         for p in a.places[:10]) + (f"  primary {a.primary_country}" if a.primary_country else ""))
    for q in a.quotes[:5]:
        text = q.text if len(q.text) <= 90 else q.text[:89] + "…"
        meta.add_row("quote", f"“{text}” — {q.speaker or '?'}" + (f" ({q.speaker_text})" if q.speaker_text and q.speaker_text != q.speaker else ""))
    if a.corrections:
        meta.add_row("fixed", ", ".join(f"{c.original!r}→{c.corrected!r}" for c in a.corrections[:8]))
    if a.summary:
        meta.add_row("summary", " ".join(a.summary))
    if a.skipped:
        meta.add_row("skipped", ", ".join(a.skipped))
    if a.enrichment_errors:
        meta.add_row("errors", "; ".join(f"{e.enricher}: {e.error}" for e in a.enrichment_errors))
    meta.add_row("timings", "  ".join(f"{k} {v:.1f} ms" for k, v in a.timings.items()))
    lead = a.body[:280] + ("…" if len(a.body) > 280 else "")
    return Panel(Group(meta, Text(""), Text(lead, style="italic")), title=Text(a.title or "(no title)", style="bold"),
                 title_align="left", border_style="green")


def print_outcome(console: Console, topic: str, record) -> None:
    if isinstance(record, EnrichedArticle):
        console.print(article_panel(record))
    elif isinstance(record, DuplicateArticle):
        console.print(f"[yellow]duplicate[/] {record.origin} → copy of {record.duplicate_of} ({record.reason})")
    elif isinstance(record, DeadLetter):
        console.print(f"[red]rejected[/] {record.origin}: {record.stage}: {record.reason}")
    elif isinstance(record, BaseModel):  # the records of the other topics: as JSON, never a Python repr
        console.print_json(record.model_dump_json())
    else:
        console.print(record)
