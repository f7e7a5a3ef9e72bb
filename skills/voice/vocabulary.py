"""What Whisper should expect to hear: a short vocabulary prompt built from the caller's memory.

Whisper tiny.en turns names and unusual words into common ones ("Okafor" -> "of a fur", "wifi" ->
"wife I"); conditioned on a prompt that holds them, it spells them right. The prompt is made of the
people, titles and apps of the caller's newest visible events (memory's own browse, so an app-scoped
caller never gets another app's titles), people first because they are misheard most, and it stays
under max_chars (every prompt token costs decoder time). It is rebuilt at most every ttl seconds.

vocab = Vocabulary(memory, caller)
SttOptions(prompt=vocab.text())   # "Sarah Miller, Tom. Dentist appointment. Flight to Lisbon. mail, notes."
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from skills.memory.model import BrowseOptions

log = logging.getLogger(__name__)
# events whose words must not travel anywhere they are not asked for, not even into a local prompt
_HIDDEN = frozenset({"secret"})
_SPACE = re.compile(r"\s+")


class MemoryBrowser(Protocol):
    """The slice of the memory skill the vocabulary reads through (the caller's visibility applies)."""

    def browse(self, caller: Any, options: Any = ...) -> list[Any]: ...


@dataclass(frozen=True)
class VocabularyOptions:
    """How the prompt is built.

    events: newest visible events read. max_chars: longest prompt (Whisper keeps at most ~220
    tokens of it; shorter is faster). ttl: seconds a built prompt is reused. apps: name the apps too.
    """

    events: int = 40
    max_chars: int = 400
    ttl: float = 30.0
    apps: bool = True


def build(events: Sequence[Any], max_chars: int = 400, apps: bool = True) -> str:
    """Return the vocabulary prompt for events (newest first): people, then titles, then apps,
    each once, cut at a whole item so the prompt stays under max_chars."""
    people: list[str] = []
    titles: list[str] = []
    names: list[str] = []
    for e in events:
        if getattr(e, "sensitivity", "normal") in _HIDDEN:
            continue
        for p in getattr(getattr(e, "entities", None), "people", ()) or ():
            people.append(_clean(p))
        titles.append(_clean(str(getattr(e, "title", ""))).rstrip("."))
        if apps:
            names.append(_clean(str(getattr(e, "app", ""))))
    parts: list[str] = []
    seen: set[str] = set()
    used = 0
    for group, sep in ((people, ", "), (titles, ". "), (names, ", ")):
        items: list[str] = []
        for item in group:
            key = item.lower()
            if not item or key in seen:
                continue
            # the separator before this item, and the group's end mark
            cost = len(item) + (len(sep) if items else 0) + (2 if parts or items else 0) + 1
            if used + cost > max_chars:
                continue  # a shorter item further on may still fit
            seen.add(key)
            items.append(item)
            used += cost
        if items:
            parts.append(sep.join(items) + ".")
    return " ".join(parts)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()[:80]


class Vocabulary:
    """The vocabulary prompt for one caller, rebuilt from memory at most every ttl seconds.

    Memory is optional: without it (or when it cannot be read) the prompt is empty."""

    def __init__(
        self,
        memory: MemoryBrowser | None,
        caller: Any,
        options: VocabularyOptions = VocabularyOptions(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.memory, self.caller, self.options, self.clock = memory, caller, options, clock
        self._text = ""
        self._at: float | None = None
        self._lock = threading.Lock()

    def text(self) -> str:
        """Return the prompt, rebuilding it when it is older than the ttl."""
        with self._lock:
            now = self.clock()
            if self._at is None or now - self._at >= self.options.ttl:
                self._text = self._build()
                self._at = now
            return self._text

    def _build(self) -> str:
        if self.memory is None or self.caller is None:
            return ""
        try:
            events = self.memory.browse(self.caller, BrowseOptions(limit=self.options.events))
        except Exception as exc:  # no vocabulary is a worse transcript, never a failed turn
            log.warning("no vocabulary from memory: %s", exc)
            return ""
        return build(events, self.options.max_chars, self.options.apps)
