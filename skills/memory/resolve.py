"""Reference resolution: "that file", "her", "the PDF I had open yesterday in the browser" -> ranked
candidate events, each with the reasons it matched.

The phrase is read for cues (a kind of thing, a file type, an app, a time, a person pronoun, and
any remaining content words); candidates are the recent visible events that carry some cue, plus
keyword hits for the content words; each cue that holds adds to the score and to the reasons.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from skills.memory.model import DAY, Candidate, Event, Filters, SearchOptions
from skills.memory.search import Searcher, where_clause
from skills.memory.store import EVENT_COLS, MemoryStore, to_event
from skills.memory.text import STOPWORDS, day_start, tokens

KIND_WORDS = {
    "file_opened": "file files document documents doc docs spreadsheet sheet slides presentation deck image photo "
    "picture report draft folder opened open",
    "url": "page pages link links site website url article tab webpage video browsing",
    "message": "message messages email emails mail text sms chat dm reply thread sent wrote",
    "contact": "contact contacts person number phone",
    "calendar": "meeting meetings appointment invite calendar call standup",
    "note": "note notes memo",
    "clipboard": "copied clipboard pasted snippet",
}
WORD_KIND = {w: k for k, words in KIND_WORDS.items() for w in words.split()}
EXTENSIONS = {
    "pdf",
    "docx",
    "doc",
    "xlsx",
    "xls",
    "csv",
    "pptx",
    "ppt",
    "png",
    "jpg",
    "jpeg",
    "txt",
    "md",
    "py",
    "zip",
    "mp3",
    "mp4",
    "odt",
    "ods",
}
PRONOUNS = {
    "her": "she",
    "she": "she",
    "him": "he",
    "he": "he",
    "them": "they",
    "they": "they",
    "someone": "they",
}
APP_FAMILIES = {
    "browser": ("browser", "firefox", "chrome", "chromium", "safari", "edge", "brave", "vivaldi", "opera"),
    "mail": ("mail", "thunderbird", "outlook", "gmail", "evolution"),
    "editor": ("editor", "code", "vim", "emacs", "writer", "word"),
    "chat": ("chat", "slack", "signal", "telegram", "whatsapp", "matrix", "element", "discord"),
    "terminal": ("terminal", "shell", "konsole", "iterm"),
}
FAMILY_KIND = {"browser": "url", "mail": "message", "chat": "message"}
# Cues used up by parsing, so they are not searched as content words.
_CUE_WORDS = (
    set(WORD_KIND)
    | EXTENSIONS
    | set(PRONOUNS)
    | {w for f in APP_FAMILIES.values() for w in f}
    | {
        "that",
        "this",
        "those",
        "these",
        "yesterday",
        "today",
        "earlier",
        "ago",
        "last",
        "week",
        "night",
        "morning",
        "afternoon",
        "evening",
        "just",
        "now",
        "recent",
        "recently",
        "had",
        "was",
        "looking",
        "saw",
        "seen",
        "app",
        "hour",
        "minute",
        "minutes",
        "hours",
        "one",
        "thing",
        "ones",
    }
)


@dataclass(frozen=True)
class Reference:
    """The cues read from a reference phrase."""

    kinds: tuple[str, ...] = ()
    kind_words: tuple[str, ...] = ()  # the word that named each kind, for the reasons
    extensions: tuple[str, ...] = ()
    app_words: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    when: str = ""
    person: str | None = None  # "she", "he", "they"
    terms: tuple[str, ...] = ()


def parse_reference(text: str, now: float) -> Reference:
    """Return the cues in a reference phrase."""
    toks = tokens(text)
    kind_word: dict[str, str] = {}
    for t in toks:
        if t in WORD_KIND:
            kind_word.setdefault(WORD_KIND[t], t)
    kinds, kind_words = tuple(kind_word), tuple(kind_word.values())
    exts = tuple(dict.fromkeys(t for t in toks if t in EXTENSIONS))
    app_words = tuple(dict.fromkeys(t for t in toks if any(t in f for f in APP_FAMILIES.values())))
    person = next((PRONOUNS[t] for t in toks if t in PRONOUNS), None)
    since = until = None
    when = ""
    today = day_start(now)
    joined = " ".join(toks)
    if "yesterday" in toks:
        since, until, when = today - DAY, today, "yesterday"
    elif "last night" in joined:
        since, until, when = today - DAY + 18 * 3600, today + 6 * 3600, "last night"
    elif "this morning" in joined:
        since, until, when = today, today + 12 * 3600, "this morning"
    elif "today" in toks or "earlier" in toks:
        since, until, when = today, now, "today"
    elif "last week" in joined or "this week" in joined:
        since, until, when = now - 7 * DAY, now, "in the last week"
    elif "just now" in joined or "minute ago" in joined or "minutes ago" in joined:
        since, until, when = now - 30 * 60, now, "in the last half hour"
    elif "hour ago" in joined or "hours ago" in joined:
        since, until, when = now - 3 * 3600, now, "in the last few hours"
    terms = tuple(t for t in toks if t not in _CUE_WORDS and t not in STOPWORDS and len(t) > 1)
    return Reference(kinds, kind_words, exts, app_words, since, until, when, person, terms)


def _app_matches(app: str, words: tuple[str, ...]) -> str | None:
    name = app.lower()
    for w in words:
        family = next((f for f, names in APP_FAMILIES.items() if w in names), None)
        names = APP_FAMILIES[family] if family else (w,)
        if any(n in name for n in names):
            return f"in {app}" + (f", a {family}" if family and family not in name else "")
    return None


class Resolver:
    """Ranks the visible events a reference phrase may point at."""

    def __init__(self, store: MemoryStore, searcher: Searcher) -> None:
        self.store = store
        self.searcher = searcher

    def resolve(
        self, text: str, apps: set[str] | None, limit: int = 5, now: float | None = None
    ) -> list[Candidate]:
        """Return up to limit candidates, best first, each with its reasons."""
        now = time.time() if now is None else now
        ref = parse_reference(text, now)
        pool = self._pool(ref, apps, now)
        timed = [
            e for e in pool.values() if ref.since is None or ref.since <= e.created < (ref.until or now + 1)
        ]
        if ref.since is not None and timed:
            pool = {e.id: e for e in timed}  # a stated time is a hard cue when anything fits it
        content: dict[int, float] = {}
        if ref.terms:
            hits = self.searcher.search(
                " ".join(ref.terms), apps, SearchOptions(mode="keyword", limit=50), now
            )
            top = max((h.bm25 for h in hits), default=0.0) or 1.0
            for h in hits:
                if ref.since is None or ref.since <= h.event.created < (ref.until or now + 1) or not timed:
                    pool.setdefault(h.event.id, h.event)
                    content[h.event.id] = h.bm25 / top
        out = [c for e in pool.values() for c in self._score(e, ref, content.get(e.id, 0.0), now)]
        if ref.person:
            best: dict[str, Candidate] = {}  # one candidate per person: their strongest, most recent event
            for c in out:
                key = c.entity or f"#{c.event.id}"
                if key not in best or (c.score, c.event.created) > (best[key].score, best[key].event.created):
                    best[key] = c
            out = list(best.values())
        out.sort(key=lambda c: (-c.score, -c.event.created))
        if out and ref.person and out[0].entity:
            first = out[0]
            out[0] = Candidate(
                first.event, first.score, first.reasons + ("the most recently seen person",), first.entity
            )
        return out[:limit]

    def _pool(self, ref: Reference, apps: set[str] | None, now: float) -> dict[int, Event]:
        where, params = where_clause(apps, Filters(), now)
        cues, cue_params = [], []
        kinds = set(ref.kinds)
        if ref.person:
            kinds |= {"contact", "message", "calendar"}
            cues.append("e.entities NOT LIKE '%\"people\":[]%'")
        for w in ref.app_words:
            family = next((f for f, names in APP_FAMILIES.items() if w in names), None)
            for n in APP_FAMILIES[family] if family else (w,):
                cues.append("lower(e.app) LIKE ?")
                cue_params.append(f"%{n}%")
            if family in FAMILY_KIND:
                kinds.add(FAMILY_KIND[family])
        if kinds:
            cues.append(f"e.kind IN ({','.join('?' * len(kinds))})")
            cue_params += sorted(kinds)
        for ext in ref.extensions:
            cues.append("(lower(e.uri) LIKE ? OR lower(e.title) LIKE ?)")
            cue_params += [f"%.{ext}%", f"%.{ext}%"]
        sql = f"SELECT {EVENT_COLS} FROM events e WHERE {where}"
        if cues:
            sql += f" AND ({' OR '.join(cues)})"
        rows = self.store.query(sql + " ORDER BY e.id DESC LIMIT 300", [*params, *cue_params])
        return {r[0]: to_event(r) for r in rows}

    def _score(self, e: Event, ref: Reference, content: float, now: float) -> list[Candidate]:
        score, why = 0.0, []
        if e.kind in ref.kinds:
            score += 2.0
            word = ref.kind_words[ref.kinds.index(e.kind)]
            why.append(f"a {e.kind} event, as '{word}' asks")
        for ext in ref.extensions:
            if f".{ext}" in e.uri.lower() or f".{ext}" in e.title.lower():
                score += 2.0
                why.append(f"a .{ext} ({e.uri or e.title})")
                break
        app_why = _app_matches(e.app, ref.app_words)
        if app_why:
            score += 1.5
            why.append(app_why)
        if ref.since is not None and ref.since <= e.created < (ref.until or now + 1):
            score += 1.5
            why.append(f"{ref.when}, at {time.strftime('%Y-%m-%d %H:%M', time.localtime(e.created))}")
        if content > 0:
            score += 2.0 * content
            why.append("mentions " + ", ".join(f"'{t}'" for t in ref.terms if t in tokens(_text(e))))
        recency = 0.5 ** (max(0.0, now - e.created) / DAY)
        score += recency
        if not ref.person:
            if not why:
                why.append("recent activity")
            return [Candidate(e, score, tuple(why))]
        people = list(e.entities.people)
        if e.kind == "contact" and not people and e.title:
            people = [e.title]
        return [
            Candidate(
                e,
                score + 1.0 + (0.5 if e.kind == "contact" else 0.0),
                (f"a person: {p} ({e.kind} from {e.app})", *why),
                p,
            )
            for p in people[:3]
        ]


def _text(e: Event) -> str:
    return " ".join((e.title, e.body, e.uri, e.entities.text()))


__all__ = ["Reference", "Resolver", "parse_reference"]
