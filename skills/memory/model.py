"""Memory's wire-free types: events, callers, options, results, and its errors.

Errors (all AssistantError subclasses):
  MemorySkillError      base for memory failures
   ├── InvalidEvent   a pushed event is malformed (names the field and the fix)
   ├── ScopeDenied    the caller lacks memory:read / memory:write, or asked for another app's data
   ├── CapturePaused  the user paused capture; nothing was stored
   └── StoreError     the database cannot be opened, decrypted or migrated
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Sequence

from runtime.errors import AssistantError

KINDS = ("file_opened", "contact", "message", "url", "clipboard", "calendar", "note")
SENSITIVITY = ("public", "normal", "private", "secret")
ENTITY_TYPES = ("people", "files", "places")
DAY = 86400.0
MAX_TEXT = 64 * 1024  # a body longer than this is an app bug or a file dump, not context
MAX_FIELD = 2048


class MemorySkillError(AssistantError):
    code = "memory_error"


class InvalidEvent(MemorySkillError):
    code = "invalid_event"


class ScopeDenied(MemorySkillError):
    code = "scope_denied"


class CapturePaused(MemorySkillError):
    code = "capture_paused"


class StoreError(MemorySkillError):
    code = "memory_store_error"


@dataclass(frozen=True)
class Caller:
    """Who is asking: the app name travels with every call so memory can filter by it.

    app: the app's name (the user is "user").
    scopes: what its token allows ("memory:read", "memory:write").
    cross_app: may read other apps' events (granted by the user).
    owner: the user themself (CLI, TUI): sees and controls everything.
    registered_at: when this app's current registration was made (unix seconds); a grant given
        before it was given to a revoked app of the same name and does not count.
    """

    app: str
    scopes: frozenset[str] = frozenset({"memory:read", "memory:write"})
    cross_app: bool = False
    owner: bool = False
    registered_at: float = 0.0

    @classmethod
    def user(cls) -> "Caller":
        """Return the device owner's identity (CLI and TUI act as the user)."""
        return cls("user", frozenset({"memory:read", "memory:write"}), cross_app=True, owner=True)


@dataclass(frozen=True)
class Entities:
    """Named things an event mentions."""

    people: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    places: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        return {"people": list(self.people), "files": list(self.files), "places": list(self.places)}

    def text(self) -> str:
        """Return the entities as one line, for the keyword index and the embedder."""
        return " ".join((*self.people, *self.files, *self.places))


@dataclass(frozen=True)
class EventIn:
    """An event as an app pushes it, before validation and redaction.

    secrets: strings the app flags as passwords or secrets; they are redacted wherever they appear.
    idempotency_key: the same key from the same app is stored once, so retries never duplicate.
    created: unix seconds (default: now). expires: unix seconds, capped by the retention policy.
    """

    kind: str
    title: str = ""
    body: str = ""
    uri: str = ""
    entities: Entities = Entities()
    sensitivity: str = "normal"
    created: float | None = None
    expires: float | None = None
    idempotency_key: str | None = None
    secrets: tuple[str, ...] = ()
    app: str | None = None  # only the owner may push on behalf of an app

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "EventIn":
        """Return an EventIn from JSON-like data; InvalidEvent names the bad field."""
        if not isinstance(data, Mapping):
            raise InvalidEvent(
                "an event must be a JSON object", 'send {"kind": "note", "title": ..., "body": ...}'
            )
        known = {
            "kind",
            "title",
            "body",
            "uri",
            "entities",
            "sensitivity",
            "created",
            "expires",
            "idempotency_key",
            "secrets",
            "app",
        }
        extra = sorted(set(data) - known)
        if extra:
            raise InvalidEvent(
                f"unknown event field {extra[0]!r}", f"use only {', '.join(sorted(known))}", field=extra[0]
            )
        ents = data.get("entities") or {}
        if not isinstance(ents, Mapping) or set(ents) - set(ENTITY_TYPES):
            raise InvalidEvent(
                "entities must be an object with people, files and places lists",
                'send "entities": {"people": ["Ana"], "files": [], "places": []}',
                field="entities",
            )
        try:
            entities = Entities(**{k: tuple(_strs(v, f"entities.{k}")) for k, v in ents.items()})
        except TypeError:
            raise InvalidEvent(
                "entities lists must hold strings", "send lists of names", field="entities"
            ) from None
        return cls(
            kind=data.get("kind"),  # type: ignore[arg-type]  # validated later, with the other fields
            title=data.get("title", ""),
            body=data.get("body", ""),
            uri=data.get("uri", ""),
            entities=entities,
            sensitivity=data.get("sensitivity", "normal"),
            created=data.get("created"),
            expires=data.get("expires"),
            idempotency_key=data.get("idempotency_key"),
            secrets=tuple(_strs(data.get("secrets") or (), "secrets")),
            app=data.get("app"),
        )


def _strs(value: Any, name: str) -> list[str]:
    if (
        isinstance(value, str)
        or not isinstance(value, (list, tuple))
        or not all(isinstance(v, str) for v in value)
    ):
        raise InvalidEvent(f"{name} must be a list of strings", f'send "{name}": ["..."]', field=name)
    return list(value)


@dataclass(frozen=True)
class Event:
    """A stored event (after redaction)."""

    id: int
    app: str
    kind: str
    title: str
    body: str
    uri: str
    entities: Entities
    sensitivity: str
    created: float
    expires: float
    redactions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app": self.app,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "uri": self.uri,
            "entities": self.entities.to_dict(),
            "sensitivity": self.sensitivity,
            "created": self.created,
            "expires": self.expires,
            "redactions": self.redactions,
        }

    def citation(self) -> str:
        """Return the short tag chat answers cite, e.g. "[mem:42]"."""
        return f"[mem:{self.id}]"


class PushResult(NamedTuple):
    """What happened to one pushed event: its id, and whether a retry found it already stored.

    A NamedTuple rather than a frozen dataclass: one is built per pushed event, and a frozen
    dataclass costs twice as much to build (about 1 us), a measurable share of ingest.
    """

    id: int
    duplicate: bool = False
    redactions: int = 0


@dataclass(frozen=True)
class Filters:
    """Restrict recall to some apps, kinds and a created-time range (unix seconds, inclusive)."""

    apps: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class SearchOptions:
    """How to search.

    mode: "keyword" (BM25 + recency) or "hybrid" (adds cosine similarity of embeddings).
    limit: results returned. candidates: newest matches taken for all terms together (and for a
        one-term query); each term alone gets candidates / terms (at least limit); the cosine set
        gets candidates. Ranking is exact only within these newest-first windows (see search.py).
    half_life_days: recency weight halves every this many days.
    weights: (bm25, cosine, recency) weights of the final score.
    min_cosine: events found only by meaning need at least this cosine similarity.
    """

    mode: str = "hybrid"
    limit: int = 10
    filters: Filters = Filters()
    candidates: int = 100
    half_life_days: float = 7.0
    weights: tuple[float, float, float] = (0.5, 0.35, 0.15)
    min_cosine: float = 0.3


@dataclass(frozen=True)
class SearchHit:
    """One ranked result with its score parts."""

    event: Event
    score: float
    bm25: float
    cosine: float
    recency: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event.to_dict(),
            "score": round(self.score, 4),
            "bm25": round(self.bm25, 4),
            "cosine": round(self.cosine, 4),
            "recency": round(self.recency, 4),
            "citation": self.event.citation(),
        }


@dataclass(frozen=True)
class Candidate:
    """A resolved reference: the event, a score, why it matched, and the entity meant (for "her")."""

    event: Event
    score: float
    reasons: tuple[str, ...]
    entity: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event.to_dict(),
            "score": round(self.score, 4),
            "reasons": list(self.reasons),
            "entity": self.entity,
            "citation": self.event.citation(),
        }


@dataclass(frozen=True)
class BrowseOptions:
    """Newest-first listing by app, kind and time."""

    filters: Filters = Filters()
    limit: int = 50
    before_id: int | None = None  # page with the last id of the previous page


@dataclass(frozen=True)
class Retention:
    """How long events live: a default and per-kind TTLs, in seconds."""

    default: float = 30 * DAY
    kinds: Mapping[str, float] = field(default_factory=lambda: {"clipboard": 1 * DAY})

    def ttl(self, kind: str) -> float:
        return float(self.kinds.get(kind, self.default))


def now() -> float:
    return time.time()


def check_names(values: Sequence[str], what: str) -> None:
    for v in values:
        if not isinstance(v, str) or not v or len(v) > 128:
            raise InvalidEvent(f"{what} {v!r} is not a valid name", f"use a short non-empty {what} name")
