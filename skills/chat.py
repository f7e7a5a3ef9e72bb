"""Chat grounded in cross-app memory: before answering, the user's question is looked up in
memory (with the caller's own visibility; skills/chat_context.py ranks by person, time and
recency before word overlap), the best few events go to the model as short numbered records, and
the answer comes back as a sentence that says the thing, then the record it rests on.

Small models sometimes answer with a bare "[3]": the text is checked, the question asked again
more plainly, and if that fails too the answer is written from the cited record itself.

Prompts stay short (a weak CPU pays for every prompt token): the fixed rules go first as the
system turn, so the engine's KV-prefix reuse skips them on every later turn and request, and
only the records and the question are evaluated anew.

Memory is optional: without it (or without matches) chat is plain chat.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Generator, Protocol, Sequence

from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions, GenerationStats
from skills.chat_context import Question, best_match, describe, rank, read_question

log = logging.getLogger(__name__)
REF = re.compile(r"\[(\d{1,2})\]")
UNKNOWN = re.compile(r"\b(?:don't|do not|cannot|can't) (?:know|find|tell)\b|\bno records?\b", re.I)
GROUNDED_RULES = (
    "You answer the user's questions about their own activity from numbered records of their apps: "
    "messages the user received from the people named, files and pages the user opened, calendar "
    'entries and notes. Speak to the user as "you". Reply with one full sentence that states the '
    "answer in your own words, then the number of the record you used in square brackets at the end. "
    "Use only the records; if none answers, say you don't know."
)
# records scoring within this share of the best one go to the model with it
CLOSE = 0.2
# at least this many words besides citations, or the answer is "bare"
MIN_WORDS = 3
# visible characters held back before streaming a grounded answer, so a bare "[3]" is never shown
HOLD_CHARS = 16


@dataclass(frozen=True)
class Citation:
    """An event an answer used: its id, where it came from, and a one-line description.

    n: the number the answer text cites it by ("[n]").
    """

    id: int
    app: str
    kind: str
    title: str
    uri: str
    n: int = 0
    created: float = 0.0

    @property
    def tag(self) -> str:
        return f"[mem:{self.id}]"

    def line(self) -> str:
        return f"{self.tag} {self.app} · {self.kind} · {self.title}" + (f" · {self.uri}" if self.uri else "")

    def to_dict(self) -> dict[str, Any]:
        """Return the citation as JSON-able builtins."""
        return {
            "n": self.n,
            "id": self.id,
            "app": self.app,
            "kind": self.kind,
            "title": self.title,
            "uri": self.uri,
            "created": self.created,
        }


PromptBuilder = Callable[[Sequence[ChatMessage], Sequence[Any], float], list[ChatMessage]]
"""(messages, memory events, now) -> the messages a grounded answer is generated from."""


@dataclass(frozen=True)
class ChatOptions:
    """How to answer.

    grounding: look the question up in memory first.
    max_context: most memory events given to the model.
    min_score: hits scoring below this are not used (memory scores are in [0, 1]).
    model: a model id; None lets the runtime's role plan choose ("grounded" when records are
        given, else `role`).
    role: the role plain answers are planned for ("chat" or "voice").
    repair: check a grounded answer says something besides a citation; ask again, then write it
        from the record, when it does not.
    prompt: builds the grounded messages from (messages, records, now) in place of grounded_prompt,
        for front ends whose answers are used differently (the voice loop's are read aloud).
    """

    generation: GenerationOptions = GenerationOptions(
        max_tokens=512, temperature=0.3, truncation="truncate_start"
    )
    grounding: bool = True
    max_context: int = 3
    min_score: float = 0.3
    model: str | None = None
    role: str = "chat"
    repair: bool = True
    prompt: PromptBuilder | None = None


NOTHING_FOUND = "I found nothing in your memory that answers that."


@dataclass(frozen=True)
class ChatAnswer:
    """The finished answer: its text, the memory events it rests on, and how it was made.

    model: the model that answered. grounded: records were given to it. repaired: "" when the
    first answer was kept, "retried" or "from_record" when a bare citation was replaced.
    stats: the last generation's numbers (cached_tokens shows the reused system prefix).
    """

    text: str
    citations: tuple[Citation, ...]
    model: str = ""
    grounded: bool = False
    repaired: str = ""
    stats: GenerationStats | None = None


class MemoryLookup(Protocol):
    """The narrow slice of the memory skill chat needs."""

    def search(self, caller: Any, query: str, options: Any = ...) -> list[Any]: ...

    def browse(self, caller: Any, options: Any = ...) -> list[Any]: ...


def is_bare(text: str) -> bool:
    """Whether an answer says nothing but citations (fewer than MIN_WORDS words besides them)."""
    words = re.findall(r"[^\W_]+", REF.sub(" ", text))
    return len(words) < MIN_WORDS


class ChatSkill:
    """Chat over the runtime, grounded in memory when it helps."""

    def __init__(
        self, runtime: Any, memory: MemoryLookup | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.runtime = runtime
        self.memory = memory
        self.clock = clock  # "now" for time words in questions and records; tests pin it

    def context_for(
        self, caller: Any, question: str, options: ChatOptions = ChatOptions(), read: Question | None = None
    ) -> list[Any]:
        """Return the memory events worth giving the model for this question (caller's view only);
        read: the question's cues, when the caller has read them already."""
        if self.memory is None or not options.grounding or not question.strip() or caller is None:
            return []
        now = self.clock()
        q = read_question(question, now) if read is None else read
        ranked = rank(self.memory, caller, question, options.max_context, options.min_score, now, q)
        if not ranked:
            return []
        # a small model picks the wrong record when near-misses sit beside a clear winner: give it
        # only the records that score close to the best
        if q.people or q.latest:
            return [ranked[0].event]  # "what did Ana ask", "the latest ...": one record is the answer
        top = ranked[0].score
        return [r.event for r in ranked if r.score >= top - CLOSE * max(1.0, top)]

    def stream(
        self,
        messages: Sequence[ChatMessage],
        caller: Any = None,
        options: ChatOptions = ChatOptions(),
        cancel: CancelToken | None = None,
    ) -> Generator[str, None, ChatAnswer]:
        """Yield the answer's text as it is generated; the generator returns a ChatAnswer."""
        question = next((m.content for m in reversed(messages) if m.role == "user"), "")
        q = read_question(question, self.clock())
        events = self.context_for(caller, question, options, q)
        if not events and self._asks_memory(caller, question, q, options):
            # "what did Ana ask me for?" with nothing from Ana: a model left alone invents a request
            yield NOTHING_FOUND
            return ChatAnswer(NOTHING_FOUND, (), "", False, "", None)
        if not events:
            model = options.model or self.runtime.model_for(options.role)
            parts: list[str] = []
            stats = yield from self._generate(list(messages), options.generation, model, cancel, parts)
            return ChatAnswer("".join(parts), (), model, False, "", stats)
        return (yield from self._grounded(messages, question, events, options, cancel))

    def _asks_memory(self, caller: Any, question: str, q: Question, options: ChatOptions) -> bool:
        """Whether the question can only be answered from the user's own records: what a named
        person asked for or wants ("What did Ana ask me for?")."""
        if self.memory is None or not options.grounding or caller is None or not question.strip():
            return False
        return q.asks and bool(q.people)

    def _grounded(
        self,
        messages: Sequence[ChatMessage],
        question: str,
        events: Sequence[Any],
        options: ChatOptions,
        cancel: CancelToken | None,
    ) -> Generator[str, None, ChatAnswer]:
        model = options.model or self.runtime.model_for("grounded")
        now = self.clock()
        prompt = (options.prompt or grounded_prompt)(messages, events, now)
        gen = replace(options.generation, temperature=min(options.generation.temperature, 0.2))
        parts: list[str] = []
        held: list[str] = []
        released = not options.repair
        stats: GenerationStats | None = None
        stream = self.runtime.chat(prompt, gen, model=model, cancel=cancel)
        while True:
            try:
                ev = next(stream)
            except StopIteration as stop:
                stats = stop.value
                break
            if released:
                parts.append(ev.text)
                yield ev.text
                continue
            # hold the first characters back: a bare citation must not reach the reader before repair
            held.append(ev.text)
            first = "".join(held)
            if len(REF.sub("", first).strip()) >= HOLD_CHARS and not is_bare(first):
                released = True
                parts.append(first)
                yield first
        if not released and not is_bare("".join(held)):
            parts = held
            yield "".join(held)
        text, repaired = "".join(parts) or "".join(held), ""
        if options.repair and is_bare(text) and not (cancel is not None and cancel.cancelled):
            retry = grounded_prompt(messages, events, now, plain=True)
            again: list[str] = []
            stats = yield from _silent(self._generate(retry, gen, model, cancel, again))
            fixed = "".join(again).strip()
            if is_bare(fixed):
                fixed, repaired = from_record(text + " " + fixed, events), "from_record"
            else:
                repaired = "retried"
            yield fixed
            text = fixed
        cited = [int(n) for n in REF.findall(text) if 1 <= int(n) <= len(events)]
        if not cited and UNKNOWN.search(text):
            return ChatAnswer(text, (), model, True, repaired, stats)
        if not cited:
            # the model forgot to cite: cite the record its words come from, never all of them
            n = best_match(text, events) or 1
            tail = f" [{n}]"
            yield tail
            text = text.rstrip() + tail
            cited = [n]
        chosen = list(dict.fromkeys(cited))
        citations = tuple(_citation(events[n - 1], n) for n in chosen)
        return ChatAnswer(text, citations, model, True, repaired, stats)

    def _generate(
        self,
        prompt: Sequence[ChatMessage],
        gen: GenerationOptions,
        model: str,
        cancel: CancelToken | None,
        sink: list[str],
    ) -> Generator[str, None, GenerationStats | None]:
        stats = None
        stream = self.runtime.chat(prompt, gen, model=model, cancel=cancel)
        while True:
            try:
                ev = next(stream)
            except StopIteration as stop:
                stats = stop.value
                break
            sink.append(ev.text)
            yield ev.text
        return stats

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
                return stop.value


def _silent(
    stream: Generator[str, None, GenerationStats | None],
) -> Generator[str, None, GenerationStats | None]:
    """Run a generation without yielding its pieces; return its stats."""
    while True:
        try:
            next(stream)
        except StopIteration as stop:
            return stop.value
    yield ""  # pragma: no cover - makes this a generator


def grounded_prompt(
    messages: Sequence[ChatMessage], events: Sequence[Any], now: float, plain: bool = False
) -> list[ChatMessage]:
    """Return the messages with the fixed rules first and the records in the last user turn.

    The rules are the same for every request, so they form a prefix the engine's KV cache keeps;
    records go in the last user turn, where small models follow them far better than in a system
    note. plain: the stricter wording used to ask again after a bare citation."""
    system = GROUNDED_RULES
    extra = [m.content for m in messages if m.role == "system" and m.content.strip()]
    if extra:
        system += "\n" + "\n".join(extra)
    history = [m for m in messages if m.role != "system"]
    last = max(i for i, m in enumerate(history) if m.role == "user")
    question = history[last].content
    records = "\n".join(describe(e, n, now) for n, e in enumerate(events, 1))
    if plain:
        ask = (
            f"Records:\n{records}\n\nQuestion: {question}\nWrite the answer as a full sentence of at least "
            "six words that says what the record says, then the record number in brackets."
        )
    else:
        # starting with the name keeps a small model from answering as the user ("you asked me...")
        ask = (
            f"Records:\n{records}\n\nMy question: {question}\nAnswer with a sentence that starts with the "
            "person's or thing's name, then the record number in brackets."
        )
    # earlier turns stay (trimmed to the last four) so follow-up questions keep their context
    return [ChatMessage("system", system), *history[:last][-4:], ChatMessage("user", ask)]


def from_record(text: str, events: Sequence[Any]) -> str:
    """Return a sentence written from the record a bare answer cited (or the first record)."""
    cited = [int(n) for n in REF.findall(text) if 1 <= int(n) <= len(events)]
    n = cited[0] if cited else 1
    e = events[n - 1]
    people = ", ".join(e.entities.people[:2]) if getattr(e, "entities", None) else ""
    body = " ".join(e.body.split())
    if len(body) > 140:
        body = body[:137].rsplit(" ", 1)[0] + "…"
    who = f" from {people}" if people else ""
    said = f": {body}" if body else ""
    return f"Your {e.app} {e.kind}{who}, “{e.title.strip().rstrip('.')}”{said} [{n}]"


def _citation(e: Any, n: int) -> Citation:
    return Citation(e.id, e.app, e.kind, e.title, e.uri, n, float(getattr(e, "created", 0.0)))


def create(services: Any) -> ChatSkill:
    """Chat over the services' runtime, grounded in the memory skill when it can be opened."""
    try:
        memory = services.skill("memory")
    except Exception as exc:  # memory is optional: chat works without it, and says why
        log.warning("chat runs without memory grounding: %s", exc)
        memory = None
    return ChatSkill(services.runtime, memory)
