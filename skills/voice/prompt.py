"""What the model sees for a spoken answer: memory records as plain facts, and rules for one short
sentence said to the user.

The text chat's numbered records ("[1] travel note, written today 23:32: Flight to Lisbon. ...")
carry headers a 0.5B model reads back as the answer ("travel note, written today 23:32: ..."), and
its rules ask for a record number that is never spoken. Here each record is one line of the form
"Flight to Lisbon (your note): Friday at seven forty in the morning", the question comes after them,
and one worked example in the fixed system turn (kept by the engine's prefix cache, so it costs
nothing after the first turn) shows the shape of a good answer. The chat skill still cites the record
the answer's words come from (skills/chat.py), so citations and "her" in the next turn keep working.

VoiceOptions.chat uses it through ChatOptions(prompt=spoken_prompt).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from runtime.engines.base import ChatMessage
from skills.chat_context import when_text

SPOKEN_RULES = (
    "You answer the user's spoken questions from facts found in their apps: messages they received, "
    "calendar entries, notes, files and pages. Reply with one short sentence to the user (say "
    '"you" and "your", never "I", "me" or "my") that gives every name, day, time and place the fact '
    "holds, as the fact says them. No lists, markdown, numbers in brackets or notes about sources. "
    "Use only the facts; if none answers the question, say you don't know."
)
# two worked examples: a time and a person; their facts are nothing a real answer could borrow
EXAMPLES = (
    (
        "Facts:\n- Team lunch (your calendar): Monday at noon\n"
        "- Ana Lima sent you a message yesterday: Budget report. Please send me the report by Friday\n\n"
        "Question: When is the team lunch?",
        "Your team lunch is on Monday at noon.",
    ),
    (
        "Facts:\n- Ana Lima sent you a message yesterday: Budget report. Please send me the report by Friday\n\n"
        "Question: Who wants the budget report?",
        "Ana Lima wants the budget report by Friday.",
    ),
)
_SPACE = re.compile(r"\s+")
_SOURCES = {
    "calendar": "your calendar",
    "note": "your note",
    "file_opened": "a file you opened",
    "url": "a page you visited",
}


def fact(e: Any, now: float) -> str:
    """Return one memory event as a plain fact line: "title (where it comes from): body", or for a
    message "Ana Lima sent you a message today: title. body" (who sent it comes first, so a
    small model does not take the user for the sender)."""
    title = _SPACE.sub(" ", str(e.title)).strip().rstrip(".:")
    body = _SPACE.sub(" ", str(e.body)).strip()
    if len(body) > 200:
        body = body[:197].rsplit(" ", 1)[0] + "…"
    people = ", ".join(getattr(getattr(e, "entities", None), "people", ())[:2])
    if e.kind == "message":
        who = people or f"someone on {e.app}"
        return f"- {who} sent you a message {_day(e.created, now)}: {title}." + (f" {body}" if body else "")
    if e.kind in _SOURCES:
        source = _SOURCES[e.kind] + (f", with {people}" if people else "")
    else:
        source = f"your {e.app} {e.kind.replace('_', ' ')}"
    # the source before the body: a small model copies the words nearest the end most faithfully
    return f"- {title} ({source})" + (f": {body}" if body else "")


def _day(t: float, now: float) -> str:
    """'today', 'yesterday' or 'on Mon 30 Nov': the day a message came, without a clock a model reads out."""
    day = when_text(t, now).rsplit(" ", 1)[0]
    return day if day in ("today", "yesterday") else f"on {day}"


def spoken_prompt(messages: Sequence[ChatMessage], events: Sequence[Any], now: float) -> list[ChatMessage]:
    """Return the grounded messages for a spoken answer: the fixed rules and example first (a
    cacheable prefix), the earlier turns, then the facts and the question in the last user turn."""
    system = SPOKEN_RULES
    history = [m for m in messages if m.role != "system"]
    last = max(i for i, m in enumerate(history) if m.role == "user")
    facts = "\n".join(fact(e, now) for e in events)
    ask = f"Facts:\n{facts}\n\nQuestion: {history[last].content}"
    shots = [ChatMessage(role, text) for q, a in EXAMPLES for role, text in (("user", q), ("assistant", a))]
    return [
        ChatMessage("system", system),
        *shots,
        *history[:last][-4:],
        ChatMessage("user", ask),
    ]
