"""Which memory events a question needs: read the question for a person, a time and "the latest",
then rank the caller's visible events by those cues before word overlap.

"What did Ana ask me for?" must find Ana's latest request, not an older chit-chat message that
shares more words with the question; "what did I open yesterday?" must stay inside yesterday.
Time phrases come from the memory skill's reference parser (skills/memory/resolve.py); this module
adds only what questions need beyond references ("two days ago").
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from skills.memory.model import DAY, BrowseOptions, Event, Filters, SearchOptions
from skills.memory.resolve import parse_reference
from skills.memory.text import STOPWORDS, day_start, tokens

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "a": 1, "an": 1}
_DAYS_AGO = re.compile(r"\b(\d+|one|two|three|four|five|six|seven|a|an)\s+days?\s+ago\b", re.I)
# capitalised words that start questions or name times, not people
_NOT_NAMES = frozenset(
    "what who when where which why how did does do is are was were can could would should will i i'm "
    "the a an my me we you tell show find give list remind please any anything latest last today "
    "yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday january february march "
    "april may june july august september october november december pdf ok okay hey hi".split()
)
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
_ASK_WORDS = frozenset("ask asked asking request requested want wanted need needed".split())
_LATEST_WORDS = frozenset("latest last newest recent recently".split())
# how a message reads when it asks for something
_REQUEST = re.compile(
    r"\b(can you|could you|would you|will you|please|pls|need you to|i need|send me|remind me|"
    r"don't forget|do not forget|make sure|let me know|asap|by (?:monday|tuesday|wednesday|thursday|friday|"
    r"tomorrow|tonight|eod|noon))\b",
    re.I,
)


@dataclass(frozen=True)
class Question:
    """The cues a question carries."""

    people: tuple[str, ...] = ()  # names as written ("Ana", "Bruno Costa")
    kinds: tuple[str, ...] = ()  # event kinds the question names ("message", "calendar", ...)
    since: float | None = None
    until: float | None = None
    when: str = ""
    latest: bool = False  # "the latest", "last", "most recent"
    asks: bool = False  # a question about what someone asked for or wants


def read_question(text: str, now: float) -> Question:
    """Return the person, time and recency cues in a question."""
    ref = parse_reference(text, now)
    since, until, when = ref.since, ref.until, ref.when
    m = _DAYS_AGO.search(text) if since is None else None  # only what the reference parser lacks
    if m:
        n = _NUMBERS.get(m.group(1).lower()) or int(m.group(1))
        start = day_start(now) - n * DAY
        since, until, when = start, start + DAY, m.group(0)
    words = tokens(text)
    return Question(
        people=_names(text),
        kinds=tuple(ref.kinds),
        since=since,
        until=until,
        when=when,
        latest=any(w in _LATEST_WORDS for w in words),
        asks=any(w in _ASK_WORDS for w in words),
    )


def _names(text: str) -> tuple[str, ...]:
    """Return runs of capitalised words that are not question words, e.g. ("Ana Lima",)."""
    out: list[str] = []
    run: list[str] = []
    for raw in re.findall(r"[\w'’-]+|[^\w\s]", text):
        word = raw[:-2] if raw.endswith(("'s", "’s")) else raw
        if word[:1].isupper() and word.lower() not in _NOT_NAMES and word.isalpha():
            run.append(word)
            continue
        if run:
            out.append(" ".join(run))
            run = []
    if run:
        out.append(" ".join(run))
    return tuple(dict.fromkeys(out))


def is_request(e: Event) -> bool:
    """Whether an event reads as someone asking for something."""
    return bool(_REQUEST.search(f"{e.title} {e.body}"))


def mentions(e: Event, name: str) -> bool:
    """Whether an event is from or about the person called name (any of their name's words)."""
    parts = [p.lower() for p in name.split() if len(p) > 1]
    people = " ".join(e.entities.people).lower()
    if people and any(re.search(rf"\b{re.escape(p)}\b", people) for p in parts):
        return True
    text = f"{e.title} {e.body}".lower()
    return any(re.search(rf"\b{re.escape(p)}\b", text) for p in parts)


class MemoryReader(Protocol):
    """The slice of the memory skill retrieval reads through (the caller's visibility applies)."""

    def search(self, caller: Any, query: str, options: Any = ...) -> list[Any]: ...

    def browse(self, caller: Any, options: Any = ...) -> list[Event]: ...


@dataclass(frozen=True)
class Ranked:
    """An event with the score retrieval gave it."""

    event: Event
    score: float


def rank(
    memory: MemoryReader,
    caller: Any,
    question: str,
    limit: int = 3,
    min_score: float = 0.3,
    now: float | None = None,
    read: Question | None = None,
) -> list[Ranked]:
    """Return up to limit events for a question, best first: person, time and recency cues first,
    then the memory skill's own relevance. read: the question's cues, when the caller has them."""
    now = time.time() if now is None else now
    q = read_question(question, now) if read is None else read
    window = Filters(since=q.since, until=q.until)
    relevance: dict[int, float] = {}
    pool: dict[int, Event] = {}
    # with a person named every one of their events shares the name, and inside a time window every
    # event shares the time: relevance comes from the other words, if any are left
    content = question
    for name in q.people:
        content = content.replace(name, " ")
    for word in q.when.split():
        content = re.sub(rf"\b{re.escape(word)}\b", " ", content, flags=re.I)
    if any(w not in STOPWORDS and w not in _ASK_WORDS and len(w) > 1 for w in tokens(content)):
        for h in memory.search(caller, content, SearchOptions(limit=30, filters=window)):
            pool[h.event.id] = h.event
            relevance[h.event.id] = float(h.score)
    # "dinner on Saturday": a day name may be the day an event is about, not the day it was recorded,
    # so events whose own words name that day count as inside the window too
    said_day: set[int] = set()
    days = [w for w in q.when.lower().split() if w in _WEEKDAYS]
    if days and q.since is not None:
        query = " ".join([*(w for w in tokens(content) if w not in STOPWORDS and len(w) > 1), *days])
        for h in memory.search(caller, query, SearchOptions(limit=30)):
            if any(d in tokens(f"{h.event.title} {h.event.body}") for d in days):
                pool.setdefault(h.event.id, h.event)
                relevance.setdefault(h.event.id, float(h.score))
                said_day.add(h.event.id)
    for name in q.people:
        # all of a week's events about a person, not the few whose short text makes BM25 like them best
        opts = SearchOptions(mode="keyword", limit=300, candidates=600, filters=window)
        for h in memory.search(caller, name, opts):
            pool.setdefault(h.event.id, h.event)
    # a capitalised word that names nobody in the pool ("Lisbon") is not a person cue
    people = [n for n in q.people if any(mentions(e, n) for e in pool.values())]
    cued = bool(people or q.since is not None or q.latest)
    by_recency = bool(people or q.latest)  # a person's current request, or "the latest": newest wins
    if q.latest or (q.since is not None and not pool):
        # "the latest ..." or "what happened yesterday": the newest events count even without shared words
        for e in memory.browse(caller, BrowseOptions(filters=window, limit=60)):
            pool.setdefault(e.id, e)
    if q.kinds and q.since is not None:
        # "what did I note this morning": every note of that window, though no word of it matches
        # (word and embedding hits on other things must not crowd it out)
        kinds = Filters(kinds=q.kinds, since=q.since, until=q.until)
        for e in memory.browse(caller, BrowseOptions(filters=kinds, limit=30)):
            pool.setdefault(e.id, e)
    if not pool:
        return []
    eligible = [
        e
        for e in pool.values()
        # a question about Ana is never answered from someone else's message, nor "yesterday" from today
        if (not people or any(mentions(e, n) for n in people))
        and (q.since is None or q.since <= e.created < (q.until or now + 1) or e.id in said_day)
    ]
    # newest first among the events that carry the asked-for thing: a request when the question is
    # about what someone asked, a message when it says "message"
    key = [e for e in eligible if (not q.asks or is_request(e)) and (not q.kinds or e.kind in q.kinds)]
    order = {e.id: i for i, e in enumerate(sorted(key, key=lambda e: -e.created))}
    out: list[Ranked] = []
    for e in eligible:
        score = relevance.get(e.id, 0.0) + (1.0 if people else 0.0)
        if q.asks and is_request(e):
            score += 0.8
        if q.kinds and e.kind in q.kinds:
            score += 0.5
        if by_recency and e.id in order:
            score += 0.6 / (1 + order[e.id]) + (0.4 if q.latest and order[e.id] == 0 else 0.0)
        if score >= min_score or cued:
            out.append(Ranked(e, score))
    out.sort(key=lambda r: (-r.score, -r.event.created))
    return out[:limit]


def describe(e: Event, n: int, now: float) -> str:
    """Return one short numbered line for the model: when, where, who, what."""
    people = ", ".join(e.entities.people[:2])
    body = " ".join(e.body.split())
    if len(body) > 160:
        body = body[:157].rsplit(" ", 1)[0] + "…"
    title = e.title.strip().rstrip(".")
    text = f"{title}." + (f" {body}" if body else "")
    # the verb says what the time is: when a message came, not when a calendar entry happens
    when = f"{_VERBS.get(e.kind, 'recorded')} {when_text(e.created, now)}"
    if e.kind == "message":
        # quoted and addressed, so "send me" in a message reads as the sender asking the user
        who = f" from {people}" if people else ""
        return f"[{n}] {e.app} message{who} to you, {when}: “{text}”"
    who = f" with {people}" if people else ""
    if e.kind == "calendar":
        # when an entry was added is noise beside when it happens, and small models confuse the two
        return f"[{n}] {e.app} entry{who}: {text}"
    return f"[{n}] {e.app} {e.kind.replace('_', ' ')}{who}, {when}: {text}"


_VERBS = {
    "message": "received",
    "file_opened": "opened",
    "url": "visited",
    "calendar": "added",
    "note": "written",
}


def when_text(t: float, now: float) -> str:
    """Return 'today 09:14', 'yesterday 17:02' or 'Mon 30 Nov 08:00' for a time."""
    today = day_start(now)
    clock = time.strftime("%H:%M", time.localtime(t))
    if t >= today:
        return f"today {clock}"
    if t >= today - DAY:
        return f"yesterday {clock}"
    return time.strftime("%a %d %b %H:%M", time.localtime(t))


def overlap(text: str, e: Event) -> int:
    """Return how many content words of text also appear in the event."""
    words = {w for w in tokens(text) if len(w) > 3}
    return len(words & set(tokens(f"{e.title} {e.body} {' '.join(e.entities.people)}")))


def best_match(text: str, events: Sequence[Event]) -> int | None:
    """Return the 1-based number of the event the answer text overlaps most, if any."""
    scores = [(overlap(text, e), -i) for i, e in enumerate(events)]
    if not scores or max(scores)[0] == 0:
        return None
    return -max(scores)[1] + 1


__all__ = ["Question", "Ranked", "best_match", "describe", "is_request", "mentions", "rank", "read_question"]
