"""Turning a streamed answer into speakable sentences as the model writes it."""

from __future__ import annotations

import re

from runtime.engines.piper import split_sentences

_CITE = re.compile(r"\s*\[(?:mem:)?\d{1,3}(?:,\s*\d{1,3})*\]")
_MARKUP = re.compile(r"[*_`#>]+")
_URL = re.compile(r"https?://\S+")
# where a fact came from, as skills/voice/prompt.py writes it: a model that copies it must not read it out
_SOURCE = re.compile(
    r"\s*\((?:your (?:calendar|note)|a file you opened|a page you visited|your \w+ [\w ]+)(?:, with [^)]*)?\)"
)
# a sentence is complete once its end mark is followed by whitespace: "3.5" and "e.g." stay whole
_BOUNDARY = re.compile(r"[.!?…][\"')\]]*\s|\n")


def speakable(text: str) -> str:
    """Return text as it should be read aloud: no citation marks, markdown or URLs."""
    text = _SOURCE.sub("", _CITE.sub("", text))
    text = _URL.sub("a link", text)
    text = " ".join(_MARKUP.sub("", text).split())
    return re.sub(r"\s+([.,!?;:])", r"\1", text)


class SentenceBuffer:
    """Collects streamed text and hands out each sentence once it is complete.

    first_clause: hand out the first clause of the answer at its first comma once it has
    `min_first_words` words, so the voice can start before the first sentence is finished.
    """

    def __init__(self, first_clause: bool = True, min_first_words: int = 4) -> None:
        self._text = ""
        self._started = False
        self.first_clause = first_clause
        self.min_first_words = min_first_words

    def feed(self, piece: str) -> list[str]:
        """Add streamed text; return the sentences it completed (cleaned, non-empty)."""
        self._text += piece
        out: list[str] = []
        while True:
            cut = self._next_cut()
            if cut is None:
                break
            head, self._text = self._text[:cut], self._text[cut:]
            self._started = True
            out += [s for s in (speakable(p) for p in split_sentences(head)) if _has_words(s)]
        return out

    def flush(self) -> list[str]:
        """Return what is left at the end of the answer."""
        rest, self._text = self._text, ""
        return [s for s in (speakable(p) for p in split_sentences(rest)) if _has_words(s)]

    def _next_cut(self) -> int | None:
        for m in _BOUNDARY.finditer(self._text):
            head = self._text[: m.end()].strip()
            last = head.rstrip(".").rsplit(None, 1)[-1].lower() if head else ""
            if m.group().startswith(".") and last in {"mr", "mrs", "ms", "dr", "st", "e.g", "i.e", "vs"}:
                continue
            return m.end()
        if self.first_clause and not self._started:
            comma = self._text.find(", ")
            if comma > 0 and len(self._text[:comma].split()) >= self.min_first_words:
                return comma + 2
        return None


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)
