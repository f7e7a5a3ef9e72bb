"""Chat grounded in cross-app memory: before answering, the user's question is looked up in
memory (with the caller's own visibility), the best events go to the model as numbered context,
and the answer comes back with the citations it used.

Memory is optional: without it (or without matches) chat is plain chat.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any, Iterator, Protocol, Sequence

from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions

log = logging.getLogger(__name__)
CITE = re.compile(r"\[mem:(\d+)\]")


@dataclass(frozen=True)
class Citation:
    """An event an answer used: its id, where it came from, and a one-line description."""

    id: int
    app: str
    kind: str
    title: str
    uri: str

    @property
    def tag(self) -> str:
        return f"[mem:{self.id}]"

    def line(self) -> str:
        return f"{self.tag} {self.app} · {self.kind} · {self.title}" + (f" · {self.uri}" if self.uri else "")


@dataclass(frozen=True)
class ChatOptions:
    """How to answer.

    grounding: look the question up in memory first.
    max_context: most memory events given to the model.
    min_score: hits scoring below this are not used (memory scores are in [0, 1]).
    """

    generation: GenerationOptions = GenerationOptions(max_tokens=512, temperature=0.3, truncation="truncate_start")
    grounding: bool = True
    max_context: int = 3
    min_score: float = 0.3
    model: str | None = None


@dataclass(frozen=True)
class ChatAnswer:
    """The finished answer: its text and the memory events it rests on."""

    text: str
    citations: tuple[Citation, ...]


class MemoryLookup(Protocol):
    """The narrow slice of the memory skill chat needs."""

    def search(self, caller: Any, query: str, options: Any = ...) -> list[Any]: ...


class ChatSkill:
    """Chat over the runtime, grounded in memory when it helps."""

    def __init__(self, runtime: Any, memory: MemoryLookup | None = None) -> None:
        self.runtime = runtime
        self.memory = memory

    def context_for(self, caller: Any, question: str, options: ChatOptions = ChatOptions()) -> list[Any]:
        """Return the memory events worth giving the model for this question (caller's view only)."""
        if self.memory is None or not options.grounding or not question.strip() or caller is None:
            return []
        from skills.memory.model import SearchOptions

        hits = self.memory.search(caller, question, SearchOptions(limit=options.max_context))
        return [h.event for h in hits if h.score >= options.min_score][: options.max_context]

    def stream(
        self,
        messages: Sequence[ChatMessage],
        caller: Any = None,
        options: ChatOptions = ChatOptions(),
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        """Yield the answer's text as it is generated; the generator returns a ChatAnswer."""
        question = next((m.content for m in reversed(messages) if m.role == "user"), "")
        events = self.context_for(caller, question, options)
        prompt = list(messages)
        if events:
            prompt = _with_context(prompt, events)
        parts: list[str] = []
        gen = replace(options.generation)
        for ev in self.runtime.chat(prompt, gen, model=options.model, cancel=cancel):
            parts.append(ev.text)
            yield ev.text
        text = "".join(parts)
        return ChatAnswer(text, _citations(text, events))

    def answer(self, messages: Sequence[ChatMessage], caller: Any = None,
               options: ChatOptions = ChatOptions(), cancel: CancelToken | None = None) -> ChatAnswer:
        """Return the whole answer at once."""
        stream = self.stream(messages, caller, options, cancel)
        while True:
            try:
                next(stream)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]


def _with_context(messages: list[ChatMessage], events: Sequence[Any]) -> list[ChatMessage]:
    lines = []
    for e in events:
        people = ", ".join(e.entities.people) if getattr(e, "entities", None) else ""
        body = " ".join(e.body.split())[:300]
        lines.append(f"[mem:{e.id}] ({e.app}, {e.kind}) {e.title}" + (f" — people: {people}" if people else "")
                     + (f" — {body}" if body else ""))
    note = ("Context from the user's own apps on this device. Use it if it answers the question, "
            "and cite the entries you used by their tag, like [mem:12]:\n" + "\n".join(lines))
    system = [m for m in messages if m.role == "system"]
    rest = [m for m in messages if m.role != "system"]
    merged = ChatMessage("system", ((system[0].content + "\n\n") if system else "") + note)
    return [merged, *rest]


def _citations(text: str, events: Sequence[Any]) -> tuple[Citation, ...]:
    """The events the answer cites; when a small model forgets the tags, the events it was given."""
    by_id = {e.id: e for e in events}
    cited = [int(m) for m in CITE.findall(text) if int(m) in by_id]
    chosen = list(dict.fromkeys(cited)) or list(by_id)
    return tuple(Citation(i, by_id[i].app, by_id[i].kind, by_id[i].title, by_id[i].uri) for i in chosen)


def create(services: Any) -> ChatSkill:
    """Chat over the services' runtime, grounded in the memory skill when it can be opened."""
    try:
        memory = services.skill("memory")
    except Exception as exc:  # memory is optional: chat works without it, and says why
        log.warning("chat runs without memory grounding: %s", exc)
        memory = None
    return ChatSkill(services.runtime, memory)
