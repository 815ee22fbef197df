"""Quotes: direct quotations, each with its speaker resolved to the article's canonical entity.

Quotations are text between curly (“…”) or straight ("…") double quotes, three words or longer
(shorter ones are mostly scare quotes). The speaker is found, in this order:

1. after the quote: ``“…,” said President Trump`` / ``“…,” Trump said``;
2. before it in the same sentence: ``Hegseth said that … “…”`` / ``He said: “…”``; otherwise the
   subject that opens the sentence (``He lauded Trump as “…”``);
3. a quote standing alone after a sentence that ends with a colon or names a speaker
   (``…, with a Foreign Affairs spokesman: “…”``).

The speaker phrase resolves to the PERSON entity it mentions; a pronoun (he/she) to the first person
of the nearest preceding sentence that names one, where a role already used for a person ("The
Defense Secretary" after "Defense Secretary Pete Hegseth") counts as naming them; a role with no
person ("a spokesman") to the country or organisation the sentence is about.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from pipeline.stages.enrich.registry import enricher
from pipeline.stages.enrich.places import lookup
from pipeline.stages.enrich.text import sentence_spans
from schemas import Article, Entity, Quote

MIN_WORDS = 3

SPEECH_VERBS = (
    "said|says|say|told|tells|added|adds|stated|states|declared|declares|explained|explains|noted|notes|"
    "insisted|insists|warned|warns|wrote|writes|argued|argues|asked|asks|replied|replies|continued|"
    "continues|remarked|acknowledged|acknowledges|claimed|claims|announced|announces|concluded|"
    "recalled|recalls|stressed|stresses|emphasized|emphasised|urged|urges|posted|tweeted|commented|"
    "responded|responds|admitted|admits|affirmed|affirms|described|describes|called|calls|lauded|praised|"
    "sagte|sagt|erklärte"
)
_VERB = rf"(?:{SPEECH_VERBS})"
_QUOTE_RE = re.compile(r"“([^”]{2,}?)”|\"([^\"\n]{2,}?)\"")
_PRONOUNS = {"he", "she", "He", "She"}
_ROLE_NOUNS = (
    "spokesman|spokeswoman|spokesperson|official|officials|minister|ministry|secretary|president|"
    "chancellor|premier|senator|governor|mayor|ambassador|diplomat|envoy|source|sources|representative|"
    "negotiator|chief|director|chairman|chairwoman|leader|general|commander|analyst|economist|"
    "statement|spokespeople|coach|manager|trainer|executive|ceo|head"
)
_ROLE_RE = re.compile(rf"\b(?:{_ROLE_NOUNS})\b", re.I)
# after the closing quote: ", said X" / " X said"
_AFTER_VERB_FIRST = re.compile(rf"^[\s,]*(?:{_VERB})\s+(?P<who>[^,;:!?“\"]{{1,80}})")
_AFTER_SPEAKER_FIRST = re.compile(rf"^[\s,]*(?P<who>[^,.;:!?“\"]{{1,60}}?)\s+(?:{_VERB})\b")
# before the quote, in its sentence: "X said (that) ... “"
_BEFORE = re.compile(rf"(?P<who>[^,.;:!?”\"]{{1,80}}?)\s+(?:has\s+|had\s+|also\s+|then\s+)?(?:{_VERB})\b")
_DETERMINERS = re.compile(r"^(?:the|a|an|its|his|her|their)\s+", re.I)
_CLAUSE_END = re.compile(r"\s*(?:,|\bwho\b|\bwhich\b|\bthat\b|\bon\b|\bin\b|\bat\b|\bafter\b|\bbefore\b|\bwhen\b|\bwhile\b).*$")


class _Index:
    """Entity mentions of the article's body, sorted by offset, with roles seen before persons."""

    def __init__(self, article: Article):
        self.body = article.body
        self.mentions: list[tuple[int, int, Entity]] = []
        for e in article.entities:
            if e.label == "PERSON" and _is_place(e):
                continue
            for m in e.mentions or []:
                if m.field == "body":
                    self.mentions.append((m.start, m.end, e))
        self.mentions.sort(key=lambda t: t[0])
        self.starts = [m[0] for m in self.mentions]
        self.roles: dict[str, set[str]] = {}
        for s, _e, ent in self.mentions:
            if ent.label != "PERSON":
                continue
            before = self.body[max(0, s - 60):s]
            words = re.findall(r"[\w’'-]+", before.split("\n")[-1])[-3:]
            for i in range(len(words)):
                role = " ".join(words[i:]).lower()
                if _ROLE_RE.search(role):
                    self.roles.setdefault(role, set()).add(ent.canonical or ent.text)

    def in_span(self, start: int, end: int, labels: set[str]) -> list[tuple[int, int, Entity]]:
        i = bisect_right(self.starts, start - 200)
        out = []
        for s, e, ent in self.mentions[max(0, i - 1):]:
            if s >= end:
                break
            if e > start and ent.label in labels:
                out.append((s, e, ent))
        return out

    def role_person(self, phrase: str) -> str | None:
        words = _DETERMINERS.sub("", phrase.strip()).lower().split()
        for i in range(len(words)):
            people = self.roles.get(" ".join(words[i:]))
            if people and len(people) == 1:
                return next(iter(people))
        return None


def _is_place(e: Entity) -> bool:
    """A PERSON the tagger got wrong: its name is a country or a large city ("Kyiv")."""
    return any(c.kind == "country" or (c.kind == "city" and c.population >= 100_000) or c.kind == "subdivision"
               for c in lookup(e.canonical or e.text))


def _person_in(idx: _Index, start: int, end: int) -> str | None:
    found = idx.in_span(start, end, {"PERSON"})
    return (found[0][2].canonical or found[0][2].text) if found else None


def _resolve_pronoun(idx: _Index, pos: int, sents: tuple[tuple[int, int], ...]) -> str | None:
    """The first person named in the nearest sentence before ``pos`` that names one."""
    k = bisect_right([s for s, _ in sents], pos) - 1
    for j in range(k - 1, max(-1, k - 5), -1):
        s, e = sents[j]
        cands: list[tuple[int, str]] = [(ms, ent.canonical or ent.text) for ms, _me, ent in idx.in_span(s, e, {"PERSON"})]
        m = re.match(r"\s*(?:[\w’'-]+,\s+)?(?:The|the)\s+((?:[A-Z][\w-]*\s+){0,3}[A-Za-z-]+)", idx.body[s:e])
        if m:
            who = idx.role_person(m.group(1))
            if who:
                cands.append((s + m.start(1), who))
        if cands:
            return min(cands)[1]
    return None


def _resolve(idx: _Index, start: int, end: int, sents, sentence: tuple[int, int]) -> tuple[str | None, str]:
    """Canonical speaker and the speaker phrase as written for body[start:end]."""
    raw = idx.body[start:end]
    lead_m = re.match(r"\s*(?:(?:with|by|from|according to)\s+)?", raw)
    lead = lead_m.end() if lead_m else 0
    text = raw[lead:].strip()
    start += lead
    end = start + len(text)
    if not text:
        return None, ""
    person = _person_in(idx, start, end)
    if person:
        return person, text
    first = text.split()[0]
    if first in _PRONOUNS:
        return _resolve_pronoun(idx, start, sents), first
    who = idx.role_person(text)
    if who:
        return who, text
    if _ROLE_RE.search(text):
        # an unnamed spokesman: the country or organisation of the phrase, else the sentence's subject
        for labels in ({"GPE"}, {"GPE", "NORP", "ORG"}):
            inside = idx.in_span(start, end, labels)
            if inside and labels == {"GPE"}:
                return inside[0][2].canonical or inside[0][2].text, text
            around = idx.in_span(sentence[0], end, labels)
            if around:
                return around[0][2].canonical or around[0][2].text, text
        return None, text
    ents = idx.in_span(start, end, {"ORG", "GPE", "NORP"})
    if ents:
        return ents[0][2].canonical or ents[0][2].text, text
    return None, text


def _trim(who: str) -> str:
    who = _CLAUSE_END.sub("", who)
    return who.strip().rstrip(".")


def find_quotes(article: Article) -> list[Quote]:
    body = article.body
    if '"' not in body and "“" not in body:
        return []
    sents = sentence_spans(body)
    sent_starts = [s for s, _ in sents]
    idx = _Index(article)
    quotes: list[Quote] = []
    prev_speaker: tuple[str | None, str | None, int] = (None, None, -1)
    for m in _QUOTE_RE.finditer(body):
        g = 1 if m.group(1) is not None else 2
        qs, qe = m.start(g), m.end(g)
        while qe > qs and body[qe - 1] in ", \t\n":  # “…,” said X: the comma is the sentence's, not the speaker's
            qe -= 1
        inner = body[qs:qe]
        if len(inner.split()) < MIN_WORDS:
            continue
        k = max(0, bisect_right(sent_starts, m.start()) - 1)
        sentence = sents[k]
        sentence_end = sents[bisect_right(sent_starts, max(m.end() - 1, 0)) - 1][1]
        speaker: str | None = None
        phrase: str | None = None
        after = body[m.end():max(sentence_end, m.end())]
        before = body[sentence[0]:m.start()]
        a1 = _AFTER_VERB_FIRST.match(after)
        a2 = _AFTER_SPEAKER_FIRST.match(after)
        b = None
        if not (a1 or a2) and before.strip():
            b = _BEFORE.search(before)
        if a1:
            st = m.end() + a1.start("who")
            speaker, phrase = _resolve(idx, st, st + len(_trim(a1.group("who"))), sents, sentence)
        elif a2 and len(a2.group("who").split()) <= 6:
            st = m.end() + a2.start("who")
            speaker, phrase = _resolve(idx, st, m.end() + a2.end("who"), sents, sentence)
        elif b:
            st = sentence[0] + b.start("who")
            speaker, phrase = _resolve(idx, st, sentence[0] + b.end("who"), sents, sentence)
        elif before.strip():
            # the subject opening the sentence: "He lauded Trump as “…”"
            first = re.match(r"\s*(?:[\w’'-]+,\s+)?([A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*)", before)
            if first:
                st = sentence[0] + first.start(1)
                speaker, phrase = _resolve(idx, st, sentence[0] + first.end(1), sents, sentence)
        elif k > 0:
            # a quote standing alone: the speaker is named by the sentence before
            ps, pe = sents[k - 1]
            prev = body[ps:pe]
            if prev.rstrip().endswith(":"):
                clause = re.search(r"(?:,\s*|\bwith\s+|\bby\s+|\bfrom\s+)([^,]+?):\s*$", prev)
                if clause:
                    st = ps + clause.start(1)
                    speaker, phrase = _resolve(idx, st, ps + clause.end(1), sents, (ps, pe))
                else:
                    speaker, phrase = _resolve(idx, ps, pe - 1, sents, (ps, pe))
            elif prev_speaker[2] == k - 1:
                speaker, phrase = prev_speaker[0], prev_speaker[1]
        quotes.append(Quote(text=inner, start=qs, end=qe, speaker=speaker, speaker_text=phrase or None))
        prev_speaker = (speaker, phrase, bisect_right(sent_starts, max(m.end() - 1, 0)) - 1)
    return quotes


@enricher("quotes", ("quotes",), english_only=True)
def quotes(article: Article) -> dict[str, Any]:
    return {"quotes": find_quotes(article)}
