"""Page furniture: the lines of a news page that are not the story.

Video-playlist widgets, share bars, paywall and newsletter teasers, photo captions and credits,
bylines and agency sign-offs are the same on every article of an outlet. Left in, they make two
different stories look alike (two shootings whose bodies were mostly a playlist widget and a
"Thank You For Reading! ... premium content" teaser) and two outlets' copies of one story look
different. The dedup stage drops them before it fingerprints a text; story clustering imports the
same recogniser so that furniture decides neither a match nor a cluster.

Pure functions, no state:

- ``is_furniture(line)``: the line as a whole is furniture (judged on its own, at most a short line
  of widget text or a teaser sentence; a sentence of the story that happens to say "video" is not).
- ``strip_furniture(text)``: the text without its furniture lines (paragraphs kept in order).
- ``FURNITURE_WORDS``: the words share bars and widgets are made of, for term weighting elsewhere
  (a clusterer gives them no weight).
"""

from __future__ import annotations

import re

#: the words share bars, widgets and account links are made of: a line made only of them is furniture
FURNITURE_WORDS = frozenset(
    "share shares shared email e-mail mail facebook twitter x linkedin pinterest reddit whatsapp tumblr "
    "print comment comments copy link tweet pin save sms messenger telegram flipboard google plus "
    "video videos play playlist autoplay next up now playing watch replay mute unmute close open "
    "log in sign out register subscribe subscriber subscribers account newsletter newsletters menu "
    "search home more show hide expand collapse caption photo photos gallery image images view "
    "previous prev back top related stories story recommended trending popular most read".split()
)

_WORDISH = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+", re.UNICODE)

#: a whole line that is a known piece of furniture (case-insensitive; anchored at the line start)
_FURNITURE_RE = re.compile(
    r"^\W*(?:"
    # bylines, sign-offs, agency and desk lines, corrections notes
    r"\(?(?:reporting|writing|editing|additional reporting|compiled|edited|written|produced) by\b"
    r"|--\s.{0,80}(?:newsroom|desk)\b|our standards:"
    r"|this (?:story|article) (?:has been|was) (?:corrected|updated|refiled)"
    r"|\((?:updates|adds|recasts|corrects)\b[^)]*\)\s*$"
    # copyright and credits
    r"|copyright\b|©|\(c\)\s*\d{4}|all rights reserved"
    r"|(?:photo|image|picture|video|graphic|illustration|file photo)s?\s*(?:credit)?\s*(?::|by\b|courtesy\b)"
    r"|(?:credit|courtesy|source)\s*:"
    r"|\(?(?:ap|afp|reuters|getty images|getty|epa|shutterstock|istock)(?:\s+photo)?\s*/"
    # calls to action: subscribe, sign up, follow, read more, click here, advertisement
    r"|(?:click|tap) (?:here|to)\b|sign up\b|subscribe\b|follow us\b|read more\b|related:|advertisement\b"
    r"|(?:already|become) a (?:subscriber|member)\b|(?:log|sign) in to\b|create (?:a |an )?(?:free )?account\b"
    r"|get (?:the|our) (?:latest|daily|free|weekly)\b.{0,80}(?:newsletter|inbox|email)"
    r"|(?:support|subscribe to) (?:local|our|quality) journalism"
    # paywall teasers
    r"|thank you for reading\b|you have (?:reached|read) (?:your|the) (?:limit|maximum)"
    r"|(?:this|the) (?:article|story|content) is (?:only )?(?:available|reserved) (?:to|for) (?:subscribers|members)"
    # video and playlist widgets
    r"|(?:now playing|up next|next up|watch(?: now| live| more)?:|video:|watch video\b|play video\b"
    r"|video (?:playlist|player)\b|autoplay\b|more videos\b|replay video\b|(?:\d+\s*)?videos? in (?:this )?playlist)"
    r"|\d{1,2}:\d\d\s*$"  # a bare clip duration
    r"|share (?:this|on|via|the|article|story)\b.{0,60}$"
    r")",
    re.I,
)


#: furniture that does not start the line: a teaser ending in "premium content", a caption ending in
#: "(AP Photo/...)"; searched only in short lines that hold one of its key words
_INNER_RE = re.compile(
    r"\b(?:premium|subscriber[- ]only|members[- ]only|exclusive) (?:content|article|story|access)\b"
    r"|\((?:ap|afp|reuters|getty images|epa)\s+photo\b[^)]*\)\s*$",
    re.I,
)
_INNER_HINTS = ("premium", "only", "exclusive", "photo")


def is_furniture(line: str) -> bool:
    """Whether ``line`` (one line or paragraph) is page furniture rather than part of the story."""
    s = line.strip()
    if not s or len(s) > 400:
        return False
    if _FURNITURE_RE.match(s):
        return True
    low = s.casefold()
    if len(s) <= 200 and any(h in low for h in _INNER_HINTS) and _INNER_RE.search(s):
        return True
    # a short line made only of widget and share words ("Email Facebook Twitter Print")
    if len(s) > 120:
        return False
    words = _WORDISH.findall(low)
    return 0 < len(words) <= 12 and all(w in FURNITURE_WORDS for w in words)


def strip_furniture(text: str) -> str:
    """``text`` without its furniture lines; paragraph breaks kept."""
    if not text:
        return text
    out = [ln for ln in text.splitlines() if not is_furniture(ln)]
    return "\n".join(out)


__all__ = ["FURNITURE_WORDS", "is_furniture", "strip_furniture"]
