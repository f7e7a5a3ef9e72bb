"""Split text into sentences to translate and the markup between them, which is kept verbatim.

Kept as-is: blank lines and newlines (paragraphs), leading list/heading/quote markers
("- ", "* ", "1. ", "# ", "> "), fenced code blocks, inline code, URLs-only lines, and simple
markup wrapped around a sentence (**bold**, <b>..</b>). Joining every piece in order gives back the
input exactly; translating only the `translate=True` pieces keeps the layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! ? … (plus closing quotes/brackets) followed by whitespace and a capital,
# digit or opening quote; this misses lowercase starts on purpose (abbreviations like "e.g. the").
_BOUNDARY = re.compile(
    r"(?<=[.!?…。！？])((?:[\"'”’)\]*_`]|</[a-zA-Z]+>)*)(\s+)(?=[\"'“‘(\[¿¡]?[A-ZÀ-ÝĀ-ſА-Я0-9])"
)
_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "no", "fig", "sra", "dra"}
_PREFIX = re.compile(r"^(\s*(?:[-*+•]\s+|\d+[.)]\s+|#{1,6}\s+|>\s*)*)")
_WRAP = re.compile(
    r"^((?:\*\*|__|\*|_|`|<[a-zA-Z][^<>]*>)*)(.*?)((?:\*\*|__|\*|_|`|</[a-zA-Z][^<>]*>)*)$", re.S
)
_ONLY_MARKUP = re.compile(r"^[\W_\d]*$|^(https?://|www\.)\S+$")


@dataclass(frozen=True)
class Piece:
    """A run of text, and whether it is a sentence to translate (else kept verbatim)."""

    text: str
    translate: bool


def split_text(text: str) -> list[Piece]:
    """Return the pieces of text; "".join(p.text for p in pieces) == text."""
    out: list[Piece] = []
    in_fence = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        if body.lstrip().startswith("```"):
            in_fence = not in_fence
            _keep(out, line)
            continue
        if in_fence or not body.strip():
            _keep(out, line)
            continue
        prefix = _PREFIX.match(body)
        lead = prefix.group(1) if prefix else ""
        _keep(out, lead)
        _split_line(body[len(lead) :], out)
        _keep(out, end)
    return out


def _split_line(body: str, out: list[Piece]) -> None:
    start = 0
    for m in _BOUNDARY.finditer(body):
        cut = m.start(2)
        word = re.search(r"(\w+)\.$", body[start : m.start()])
        if word and word.group(1).lower() in _ABBREV:
            continue
        _sentence(body[start:cut], out)
        _keep(out, m.group(2))
        start = m.end()
    _sentence(body[start:], out)


def _sentence(s: str, out: list[Piece]) -> None:
    core = s.strip()
    if not core:
        _keep(out, s)
        return
    lead_ws, trail_ws = s[: len(s) - len(s.lstrip())], s[len(s.rstrip()) :]
    m = _WRAP.match(core)
    open_, inner, close = (m.group(1), m.group(2), m.group(3)) if m else ("", core, "")
    _keep(out, lead_ws + open_)
    if _ONLY_MARKUP.match(inner.strip()) or "`" in inner:
        _keep(out, inner)
    else:
        out.append(Piece(inner, True))
    _keep(out, close + trail_ws)


def _keep(out: list[Piece], s: str) -> None:
    if not s:
        return
    if out and not out[-1].translate:
        out[-1] = Piece(out[-1].text + s, False)
    else:
        out.append(Piece(s, False))
