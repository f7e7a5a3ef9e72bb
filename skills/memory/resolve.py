"""Reference resolution: "that file", "her", "the draft budget spreadsheet", "the PDF from the mail two
days ago", "who asked for the hiring plan" -> ranked candidate events, each with the reasons it matched
and, when the answer is a person, that person as the resolved entity.

The phrase is read for cues (parse_reference): kinds and file types implied by words ("spreadsheet"
-> .xlsx/.ods, "the page" -> a visit, "the meeting" -> a calendar event), apps ("in the browser"), a
time window (reftime.py), whether the answer is a person ("who sent ..."), a person pronoun, and the
remaining content words, weighted by how rare they are. Candidates are the recent events carrying a
cue, those in the time window, and keyword hits for the content words (through Searcher, so query
text never becomes FTS5 syntax). Each cue that holds adds to the score and to the reasons; content
coverage counts every distinguishing word, so "draft" beats "final" when the phrase says draft.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from skills.memory.model import DAY, Candidate, Event, Filters, SearchOptions
from skills.memory.names import ORG_WORDS, gender
from skills.memory.refwords import (
    APP_FAMILIES,
    ASK_VERBS,
    CONTACT_COMPOUNDS,
    DEICTIC,
    EXTENSIONS,
    FAMILY_KIND,
    GRAMMAR,
    MEETING_VERBS,
    PRONOUNS,
    SELF,
    TYPE_EXTS,
    WORD_KINDS,
)
from skills.memory.reftime import WORDS as TIME_WORDS
from skills.memory.reftime import TimeCue, parse_time
from skills.memory.search import Searcher, where_clause
from skills.memory.store import EVENT_COLS, MemoryStore, to_event
from skills.memory.text import STOPWORDS, tokens

CUE_WINDOW = 3000  # newest events each cue query reads (about 2 ms of rows)
LATEST = frozenset({"latest", "newest", "last", "recent", "recently", "most", "current"})
_QUOTE = re.compile(r"[\"“”'‘’]([^\"“”'‘’]{2,80})[\"“”'‘’]")


@dataclass(frozen=True)
class Reference:
    """The cues read from a reference phrase."""

    kinds: tuple[str, ...] = ()
    kind_words: tuple[str, ...] = ()  # the word that named each kind, for the reasons
    extensions: tuple[str, ...] = ()
    ext_word: str = ""
    app_words: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    when: str = ""
    person: str | None = None  # "she", "he", "they": a pronoun; "who": the answer is a person
    terms: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()  # per term: 1 for content words, less for words that are also cues
    time: TimeCue | None = None
    asks: bool = False  # "who sent/asked/wants": the person behind a message or request
    deictic: bool = False  # "that", "it": the most recent fitting thing
    phrases: tuple[str, ...] = field(default=())  # quoted text, matched whole
    latest: bool = False  # "the latest", "the newest", "the most recent": recency counts most

    @property
    def cue_only(self) -> bool:
        """Whether the phrase has no content word of its own ("the PDF", "that file")."""
        return not any(w >= 1.0 for w in self.weights)


@lru_cache(maxsize=65536)
def _stem(t: str) -> str:
    if len(t) > 4 and t.endswith("ies"):
        return t[:-3] + "y"
    if len(t) > 3 and t.endswith("s") and not t.endswith("ss"):
        return t[:-1]
    return t


# Words that make a query point at one thing rather than ask for text that matches.
POINTING = frozenset(
    "that this those these it its her him she he them they his hers who whom whose which "
    "yesterday earlier ago last latest recent recently just".split()
)


def looks_like_reference(query: str) -> bool:
    """Whether the query names one thing to resolve ("that file", "her", "the PDF from yesterday",
    "who sent the contract") rather than words to search for ("budget 2025")."""
    words = re.findall(r"[\w']+", query.lower())
    if not words:
        return False
    return words[0] == "the" or any(w in POINTING for w in words)


def parse_reference(text: str, now: float) -> Reference:
    """Return the cues in a reference phrase."""
    toks = tokens(text)
    tset = set(toks)
    kinds: dict[str, str] = {}
    joined = " ".join(toks)
    compound = next((c for c in CONTACT_COMPOUNDS if c in joined), None)
    if compound:  # "email address", "phone number": a contact's details, not a mail or a call
        kinds["contact"] = compound
    for t in toks:
        if compound and t in compound.split():
            continue
        for k in WORD_KINDS.get(t, ()):
            kinds.setdefault(k, t)
    exts: list[str] = []
    ext_word = ""
    for t in toks:
        found = TYPE_EXTS.get(t) or ((t,) if t in EXTENSIONS else ())
        if found and not ext_word:
            ext_word = t
        exts += [e for e in found if e not in exts]
    app_words = tuple(dict.fromkeys(t for t in toks if any(t in f for f in APP_FAMILIES.values())))
    for w in app_words:
        family = next((f for f, names in APP_FAMILIES.items() if w in names), None)
        if family in FAMILY_KIND and FAMILY_KIND[family] not in kinds:
            kinds[FAMILY_KIND[family]] = w
    asks = "who" in tset or "whom" in tset or "whose" in tset
    person: str | None = "who" if asks else None
    if person is None:
        person = next(
            (
                ("she" if PRONOUNS[t] == "f" else "he" if PRONOUNS[t] == "m" else "they")
                for t in toks
                if t in PRONOUNS
            ),
            None,
        )
    if asks and tset & MEETING_VERBS and "calendar" not in kinds and not tset & {"sent", "asked", "wrote"}:
        kinds["calendar"] = next(iter(tset & MEETING_VERBS))
    cue = parse_time(text, now)
    time_words = TIME_WORDS if cue is not None else set()
    terms: list[str] = []
    weights: list[float] = []
    for t in toks:
        if t in terms or len(t) < 2 and not t.isdigit() or t in STOPWORDS or t in GRAMMAR or t in time_words:
            continue
        if t in PRONOUNS or t in DEICTIC or (t in {"ago", "last", "yesterday", "today", "earlier"}):
            continue
        if t in LATEST:
            continue
        if t in ASK_VERBS and asks:
            wt = 0.15
        elif (
            t in WORD_KINDS or t in TYPE_EXTS or t in EXTENSIONS or any(t in f for f in APP_FAMILIES.values())
        ):
            wt = 0.3  # also a cue; still a word a title may carry ("draft", "report", "notes")
        else:
            wt = 1.0
        terms.append(t)
        weights.append(wt)
    deictic = bool(tset & DEICTIC) or person in ("she", "he", "they")
    return Reference(
        kinds=tuple(kinds),
        kind_words=tuple(kinds.values()),
        extensions=tuple(exts),
        ext_word=ext_word,
        app_words=app_words,
        since=cue.since if cue else None,
        until=cue.until if cue else None,
        when=cue.when if cue else "",
        person=person,
        terms=tuple(terms),
        weights=tuple(weights),
        time=cue,
        asks=asks,
        deictic=deictic,
        phrases=tuple(m.group(1).lower() for m in _QUOTE.finditer(text)),
        latest=bool(tset & LATEST) and cue is None,
    )


def _app_matches(e: Event, words: tuple[str, ...]) -> str | None:
    name = e.app.lower()
    body = e.body[:200].lower()
    for w in words:
        family = next((f for f, names in APP_FAMILIES.items() if w in names), None)
        names = APP_FAMILIES[family] if family else (w,)
        for n in names:
            if n in name or (len(n) > 3 and f"in {n}" in body):
                return f"in {e.app}" + (f", a {family}" if family and family not in name else "")
    return None


@dataclass
class _Scored:
    event: Event
    score: float
    why: list[str]
    entity: str | None = None


class Resolver:
    """Ranks the visible events a reference phrase may point at."""

    def __init__(self, store: MemoryStore, searcher: Searcher) -> None:
        self.store = store
        self.searcher = searcher

    def resolve(
        self,
        text: str,
        apps: set[str] | None,
        limit: int = 5,
        now: float | None = None,
        context: Sequence[str] = (),
    ) -> list[Candidate]:
        """Return up to limit candidates, best first, each with its reasons. context: earlier turns of
        the conversation, newest last; pronouns and "that file" prefer what they mention."""
        now = time.time() if now is None else now
        ref = parse_reference(text, now)
        ctx_terms = self._context_terms(ref, context, now)
        pool, bm = self._pool(ref, apps, now, ctx_terms)
        idf = self._idf([*ref.terms, *ctx_terms])
        top_idf = max((idf.get(t, 1.0) for t in ref.terms), default=1.0) or 1.0
        # each phrase word's weight, once per query: rarer words weigh more, but a common word the
        # phrase names still tells versions apart ("draft" among thousands of drafts), so it keeps
        # at least 0.6 of the rarest word's weight; cue words weigh less (ref.weights)
        weights = {
            t: w * top_idf * max(0.6, idf.get(t, 1.0) / top_idf) for t, w in zip(ref.terms, ref.weights)
        }
        scored = [self._score(e, ref, bm.get(e.id, 0.0), weights, ctx_terms, now) for e in pool.values()]
        out = [s for s in scored if s is not None]
        if ref.person:
            best: dict[str, _Scored] = {}  # one candidate per person: their strongest, most recent event
            for c in out:
                key = c.entity or f"#{c.event.id}"
                if key not in best or (c.score, c.event.created) > (best[key].score, best[key].event.created):
                    best[key] = c
            out = list(best.values())
        out.sort(key=lambda c: (-c.score, -c.event.created, -c.event.id))
        if out and ref.person in ("she", "he", "they") and out[0].entity:
            out[0].why.append("the most recently seen person")
        return [Candidate(c.event, c.score, tuple(c.why), c.entity) for c in out[:limit]]

    # -- candidates -------------------------------------------------------------------------------
    def _context_terms(self, ref: Reference, context: Sequence[str], now: float) -> tuple[str, ...]:
        if not context or (ref.terms and not ref.deictic):
            return ()
        out: list[str] = []
        for turn in reversed(list(context)[-3:]):
            sub = parse_reference(turn, now)
            out += [
                t for t, w in zip(sub.terms, sub.weights) if w >= 1.0 and t not in out and t not in ref.terms
            ]
            if out:
                break  # the newest turn that mentions something is what "it" means
        return tuple(out[:8])

    def _pool(
        self, ref: Reference, apps: set[str] | None, now: float, ctx_terms: tuple[str, ...]
    ) -> tuple[dict[int, Event], dict[int, float]]:
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
        if kinds:
            cues.append(f"e.kind IN ({','.join('?' * len(kinds))})")
            cue_params += sorted(kinds)
        pool: dict[int, Event] = {}
        # Each cue query reads a bounded slice of the newest events (by when they happened: connectors
        # import history out of order), so a rare kind costs the same at 100k events as at 1k; older
        # matches still come in through the keyword search for the phrase's words.
        newest = f"SELECT * FROM events ORDER BY created DESC LIMIT {CUE_WINDOW}"
        if cues or not (ref.terms or ref.time):
            sql = f"SELECT {EVENT_COLS} FROM ({newest}) e WHERE {where}"
            sql += f" AND ({' OR '.join(cues)})" if cues else ""
            for r in self.store.query(sql + " LIMIT 150", [*params, *cue_params]):
                pool[r[0]] = to_event(r)
        if ref.time is not None:
            lo, hi = ref.time.since - ref.time.slack, ref.time.until + ref.time.slack
            span = f"SELECT * FROM events WHERE created >= ? AND created < ? ORDER BY created DESC LIMIT {CUE_WINDOW}"
            sql = f"SELECT {EVENT_COLS} FROM ({span}) e WHERE {where}"
            tp: list[object] = []
            if kinds:
                sql += f" AND e.kind IN ({','.join('?' * len(kinds))})"
                tp += sorted(kinds)
            for r in self.store.query(sql + " LIMIT 300", [lo, hi, *params, *tp]):
                pool[r[0]] = to_event(r)
        bm: dict[int, float] = {}
        searches = []
        content = [t for t, w in zip(ref.terms, ref.weights) if w >= 0.3] or list(ref.terms)
        if content:
            searches.append(" ".join(content))
        if ref.extensions:
            searches.append(" ".join(ref.extensions[:4]))
        if ctx_terms:
            searches.append(" ".join(ctx_terms))
        for q in searches:
            hits = self.searcher.search(q, apps, SearchOptions(mode="keyword", limit=80), now)
            top = max((h.bm25 for h in hits), default=0.0) or 1.0
            for h in hits:
                pool.setdefault(h.event.id, h.event)
                if q == searches[0] and content:
                    bm[h.event.id] = h.bm25 / top
        return pool, bm

    def _idf(self, terms: Sequence[str]) -> dict[str, float]:
        if not terms:
            return {}
        from skills.memory.text import query_terms

        safe = [t for t in dict.fromkeys(terms) if query_terms(t) == [t]]  # one index token each
        stats = self.searcher.term_stats(safe) if safe else None
        out = {}
        for t in terms:
            if stats is None or t not in stats.df:
                out[t] = 1.0
                continue
            df = stats.df[t]
            out[t] = math.log((stats.n - df + 0.5) / (df + 0.5) + 1.0)
        return out

    # -- scoring --------------------------------------------------------------------------------
    def _score(
        self,
        e: Event,
        ref: Reference,
        bm: float,
        idf: dict[str, float],
        ctx_terms: tuple[str, ...],
        now: float,
    ) -> _Scored | None:
        score, why = 0.0, []
        head = " ".join((e.title, e.uri, " ".join(e.entities.files))).lower()
        if ref.terms or ctx_terms:  # tokenising is most of the cost: only when words are compared
            head_toks = set(map(_stem, tokens(head)))
            body_toks = set(
                map(
                    _stem,
                    tokens(" ".join((e.body[:3000], *e.entities.people, *e.entities.places, e.app))),
                )
            )
        else:
            head_toks = body_toks = set()
        # content: every distinguishing word counts, weighted by rarity; title and file names count most
        if ref.terms:
            got = 0.0
            hits = []
            total = sum(idf[t] for t in ref.terms)
            for t in ref.terms:
                wt = idf[t]
                st = _stem(t)
                if st in head_toks:
                    got += wt
                    hits.append(t)
                elif st in body_toks:
                    got += 0.75 * wt
                    hits.append(t)
            cover = got / total if total else 0.0
            score += 5.0 * cover + 0.25 * bm
            if hits:
                why.append("mentions " + ", ".join(f"'{t}'" for t in hits))
        for p in ref.phrases:
            if p in head or p in e.body.lower():
                score += 1.5
                why.append(f'contains "{p}"')
        if ctx_terms:
            n = sum(1 for t in ctx_terms if _stem(t) in head_toks or _stem(t) in body_toks)
            if n:
                score += 4.0 * n / len(ctx_terms)
                why.append("what the conversation was about")
        kind_hit = e.kind in ref.kinds or (
            "url" in ref.kinds and e.kind == "message" and "http" in e.body  # "the link Ana sent"
        )
        if kind_hit:
            score += 2.0
            word = ref.kind_words[ref.kinds.index(e.kind if e.kind in ref.kinds else "url")]
            why.append(f"a {e.kind} event, as '{word}' asks")
        ext_hit = None
        if ref.extensions:
            where = " ".join((head, e.body[:500].lower()))
            ext_hit = next((x for x in ref.extensions if f".{x}" in where), None)
            if ext_hit:
                score += 2.5
                why.append(f"a .{ext_hit} ({e.uri or e.title})"[:200])
            else:
                score -= 1.0
        if ref.kinds and not kind_hit and not ext_hit:
            score -= 0.75
        app_why = _app_matches(e, ref.app_words)
        if app_why:
            score += 1.5
            why.append(app_why)
        if ref.time is not None:
            fit = ref.time.fit(e.created)
            score += 3.0 * fit - (1.0 if fit == 0 else 0.0)
            if fit > 0:
                why.append(
                    f"{ref.time.when}, at {time.strftime('%Y-%m-%d %H:%M', time.localtime(e.created))}"
                )
        age = max(0.0, now - e.created)
        fresh = 0.5 ** (age / DAY) + 0.3 * 0.5 ** (age / 3600.0)  # newer first, the last hour most
        score += fresh * (3.0 if ref.latest else 2.0 if ref.cue_only else 1.0)
        if ref.deictic and not ref.terms and e.kind in ("file_opened", "url", "message"):
            score += 0.3  # "it", "that": things rather than commands or window titles
        entity = None
        people = [p for p in e.entities.people if p.strip().lower() not in SELF]
        if e.kind == "contact" and not people and e.title:
            people = [e.title]
        if len(people) > 1:  # the sender is the one the title or the start of the text names
            lead = set(tokens(e.title + " " + e.body[:120]))
            people.sort(key=lambda p: not (set(tokens(p)) & lead))
        named = self._named(ref, people)
        if named:
            entity, frac = named
            # "the meeting with Ana": a 1:1 before a crowd she is in, even a more recent crowd
            score += 2.0 * frac + 1.5 / len(people)
            why.insert(0, f"about {entity}")
        if ref.person == "who":
            if not people:
                return _Scored(e, score - 20.0, why or ["no person"], None)  # after every person
            entity = entity or people[0]
            score += 1.5 + (1.0 if ref.asks and e.kind == "message" and not ref.kinds else 0.0)
            why.insert(0, f"a person: {entity} ({e.kind} from {e.app})")
        elif ref.person:
            people = [p for p in people if not ORG_WORDS.intersection(tokens(p))]
            if not people:
                return None
            want = "f" if ref.person == "she" else "m" if ref.person == "he" else ""
            ranked = sorted(people[:5], key=lambda p: (want != "" and gender(p)[0] not in (want, "")))
            entity = entity or ranked[0]
            g, sure = gender(entity)
            score += 1.0
            if want and g and g != want:
                score -= 1.5 * sure  # a name usually of the other gender; unknown names count as either
            if ctx_terms and any(_stem(t) in {_stem(x) for x in tokens(entity)} for t in ctx_terms):
                score += 3.0
                why.append("named in the conversation")
            why.insert(0, f"a person: {entity} ({e.kind} from {e.app})")
        if not why:
            why.append("recent activity")
        return _Scored(e, score, why, entity)

    @staticmethod
    def _named(ref: Reference, people: list[str]) -> tuple[str, float] | None:
        """Return the person of people the phrase names (by any of their name's words), and how fully."""
        if not ref.terms or not people:
            return None
        qs = set(ref.terms)
        best: tuple[str, float] | None = None
        for p in people:
            pt = [t for t in tokens(p) if len(t) > 1]
            if not pt:
                continue
            n = sum(1 for t in pt if t in qs)
            if n and (best is None or n / len(pt) > best[1]):
                best = (p, min(1.0, 0.6 + 0.4 * n / len(pt)))
        return best


__all__ = ["Reference", "Resolver", "looks_like_reference", "parse_reference"]
