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
from skills.host import SkillHost

log = logging.getLogger(__name__)
REF = re.compile(r"\[(\d{1,2})\]")


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

    generation: GenerationOptions = GenerationOptions(
        max_tokens=512, temperature=0.3, truncation="truncate_start"
    )
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

    def answer(
        self,
        messages: Sequence[ChatMessage],
        caller: Any = None,
        options: ChatOptions = ChatOptions(),
        cancel: CancelToken | None = None,
    ) -> ChatAnswer:
        """Return the whole answer at once."""
        stream = self.stream(messages, caller, options, cancel)
        while True:
            try:
                next(stream)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]


def _with_context(messages: list[ChatMessage], events: Sequence[Any]) -> list[ChatMessage]:
    """Put the records into the last user turn, numbered [1], [2], ...: small models answer from
    context far more reliably there than from a system note, and short numbers are easy to cite."""
    lines = []
    for n, e in enumerate(events, 1):
        people = ", ".join(e.entities.people) if getattr(e, "entities", None) else ""
        body = " ".join(e.body.split())[:300]
        lines.append(
            f"[{n}] {e.app} {e.kind}"
            + (f" (people: {people})" if people else "")
            + f": {e.title}."
            + (f" {body}" if body else "")
        )
    last = max(i for i, m in enumerate(messages) if m.role == "user")
    question = messages[last].content
    grounded = (
        "Records from my apps:\n" + "\n".join(lines) + "\n\nUsing the records that are relevant, answer "
        "my question in one short sentence and end with the record number in brackets, like [1].\n"
        f"Question: {question}"
    )
    return [*messages[:last], ChatMessage("user", grounded), *messages[last + 1 :]]


def _citations(text: str, events: Sequence[Any]) -> tuple[Citation, ...]:
    """The records the answer cites by number; when a small model forgets to cite, all it was given."""
    cited = [int(n) for n in REF.findall(text) if 1 <= int(n) <= len(events)]
    chosen = [events[n - 1] for n in dict.fromkeys(cited)] or list(events)
    return tuple(Citation(e.id, e.app, e.kind, e.title, e.uri) for e in chosen)


def create(services: SkillHost) -> ChatSkill:
    """Chat over the services' runtime, grounded in the memory skill when it can be opened."""
    try:
        memory = services.skill("memory")
    except Exception as exc:  # memory is optional: chat works without it, and says why
        log.warning("chat runs without memory grounding: %s", exc)
        memory = None
    return ChatSkill(services.runtime, memory)
