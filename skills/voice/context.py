"""Context across spoken turns: the conversation so far, and who "her" or "him" is.

A follow-up like "send her a reply" names nobody. The person is taken from the previous turn
first (the people in the memory events its answer cited), then from memory's own reference
resolution; the resolved name is written into the user's turn ("send her a reply (her: Ana
Lima)"), so both the memory lookup and the model see it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from runtime.engines.base import ChatMessage

log = logging.getLogger(__name__)
PERSON_PRONOUNS = {"her", "she", "him", "he", "them", "they", "hers", "his"}
_WORD = re.compile(r"[A-Za-z']+")


class MemoryLookup(Protocol):
    """The slice of the memory skill the voice context needs."""

    def get(self, caller: Any, event_id: int) -> Any: ...

    def resolve(self, caller: Any, text: str, limit: int = ...) -> list[Any]: ...


@dataclass(frozen=True)
class Turn:
    """One finished exchange."""

    user: str
    assistant: str
    citation_ids: tuple[int, ...] = ()
    people: tuple[str, ...] = ()
    interrupted: bool = False


@dataclass(frozen=True)
class Resolution:
    """A pronoun in the user's words and the person it was taken to mean, and from where."""

    pronoun: str
    person: str
    source: str  # "previous turn" | "memory"


@dataclass
class ConversationContext:
    """The turns so far (newest last) and the pronoun resolution over them."""

    memory: MemoryLookup | None = None
    caller: Any = None
    max_turns: int = 4
    turns: list[Turn] = field(default_factory=list)

    def messages(self, system: str) -> list[ChatMessage]:
        """Return the system prompt and the last max_turns exchanges as chat messages."""
        out = [ChatMessage("system", system)] if system else []
        for t in self.turns[-self.max_turns :]:
            out += [ChatMessage("user", t.user), ChatMessage("assistant", t.assistant)]
        return out

    def resolve(self, text: str) -> Resolution | None:
        """Return who a person pronoun in text means, or None when there is none or nobody fits."""
        pronoun = next((w for w in _WORD.findall(text.lower()) if w in PERSON_PRONOUNS), None)
        if pronoun is None:
            return None
        for turn in reversed(self.turns[-self.max_turns :]):
            if turn.people:
                return Resolution(pronoun, turn.people[0], "previous turn")
        if self.memory is not None and self.caller is not None:
            try:
                candidates = self.memory.resolve(self.caller, pronoun, 3)
            except Exception as exc:  # memory is optional: an unreadable store means no resolution
                log.warning("memory could not resolve %r: %s", pronoun, exc)
                return None
            person = next((c.entity for c in candidates if getattr(c, "entity", None)), None)
            if person:
                return Resolution(pronoun, person, "memory")
        return None

    def people_of(self, citation_ids: Sequence[int]) -> tuple[str, ...]:
        """Return the people the cited memory events name, in citation order."""
        if self.memory is None or self.caller is None:
            return ()
        people: list[str] = []
        for eid in citation_ids:
            try:
                event = self.memory.get(self.caller, eid)
            except Exception:  # a forgotten or hidden event just contributes nobody
                continue
            for p in getattr(getattr(event, "entities", None), "people", ()) or ():
                if p not in people:
                    people.append(p)
        return tuple(people)

    def add(self, turn: Turn) -> None:
        """Record a finished exchange."""
        self.turns.append(turn)
        del self.turns[: -self.max_turns * 2]


def with_resolution(text: str, resolution: Resolution | None) -> str:
    """Return the user's words with the resolved person written in, for memory and the model."""
    if resolution is None:
        return text
    return f"{text.rstrip()} ({resolution.pronoun}: {resolution.person})"
