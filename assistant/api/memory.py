"""Wire types and endpoints of the memory skill: push (single and batch), search, resolve, browse,
forget and stats, under the separate memory:write and memory:read scopes.

An app reads only its own events unless the user granted it cross-app read
(`assistant memory grant APP`); it forgets only its own events. Refusals: 403 scope_denied,
422 invalid_event (with `field`), 423 capture_paused, 500 memory_store_error.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from assistant.api.base import Endpoint, Wire


EventId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # SQLite's INTEGER range
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]

# What the memory skill accepts (skills/memory/model.py and ingest.py, which validate and say why),
# published here so the OpenAPI document tells the truth; tests/daemon/test_wire_limits.py checks
# the two agree. The API layer does not import the skill: its package loads numpy and the store.
KINDS = ("file_opened", "contact", "message", "url", "clipboard", "calendar", "note")
SENSITIVITY = ("public", "normal", "private", "secret")
MAX_TEXT = 64 * 1024
MAX_FIELD = 2048
KIND_PATTERN = "^(" + "|".join(KINDS) + "|x-[A-Za-z0-9_]{0,61}[A-Za-z0-9][A-Za-z0-9_]{0,61})$"
Name = Annotated[str, Field(max_length=MAX_FIELD)]


class MemoryEntities(Wire):
    """Named things an event mentions."""

    model_config = ConfigDict(extra="forbid")

    people: list[Name] = []
    files: list[Name] = []
    places: list[Name] = []


class MemoryEvent(Wire):
    """An event as an app pushes it. Unknown fields are refused (a typo must not silently drop data).

    kind: file_opened, contact, message, url, clipboard, calendar, note, or x-<name>.
    sensitivity: public, normal, private or secret (a secret body is never stored).
    created/expires: unix seconds; created may not be in the future (5 minutes of clock skew
        allowed); expires can only shorten the retention policy.
    idempotency_key: the same key from the same app is stored once, so retries never duplicate.
    secrets: strings the app flags as passwords; they are redacted wherever they appear.
    At least one of title, body and uri must be non-empty.
    """

    # kind and sensitivity are checked by the skill (its refusal says what to send); the schema
    # publishes the same rule. The anyOf is the "title, body or uri" rule.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": [f], "properties": {f: {"minLength": 1}}} for f in ("title", "body", "uri")
            ]
        },
    )

    kind: str = Field(json_schema_extra={"pattern": KIND_PATTERN, "maxLength": 64})
    title: str = Field(default="", max_length=MAX_FIELD)
    body: str = Field(default="", max_length=MAX_TEXT)
    uri: str = Field(default="", max_length=MAX_FIELD)
    entities: Optional[MemoryEntities] = None
    sensitivity: str = Field(default="normal", json_schema_extra={"enum": list(SENSITIVITY)})
    created: Optional[Seconds] = None
    expires: Optional[Seconds] = None
    idempotency_key: Optional[str] = Field(default=None, min_length=1, max_length=200)
    secrets: list[str] = []


class PushBatchRequest(Wire):
    events: list[MemoryEvent] = Field(min_length=1, max_length=1000)


class PushResult(BaseModel):
    id: int
    duplicate: bool = False
    redactions: int = 0


class PushBatchResponse(BaseModel):
    results: list[PushResult]


class StoredEvent(BaseModel):
    id: int
    app: str
    kind: str
    title: str
    body: str
    uri: str
    entities: MemoryEntities
    sensitivity: str
    created: float
    expires: float
    redactions: int = 0


class MemoryFilters(Wire):
    """Restrict to some apps (others' need a grant), kinds, and a created-time range (unix seconds)."""

    apps: list[str] = []
    kinds: list[str] = []
    since: Optional[Seconds] = None
    until: Optional[Seconds] = None


class SearchRequest(MemoryFilters):
    query: str = Field(max_length=2000)
    mode: Literal["keyword", "hybrid"] = "hybrid"
    limit: int = Field(default=10, ge=1, le=100)


class SearchHit(BaseModel):
    event: StoredEvent
    score: float
    bm25: float
    cosine: float
    recency: float
    citation: str


class SearchResponse(BaseModel):
    hits: list[SearchHit]


class ResolveRequest(Wire):
    text: str = Field(min_length=1, max_length=2000)
    limit: int = Field(default=5, ge=1, le=50)
    context: list[Annotated[str, Field(max_length=4000)]] = Field(default=[], max_length=20)
    """The conversation's earlier turns, newest last: "it" and "her" prefer what they mention."""


class ResolveCandidate(BaseModel):
    event: StoredEvent
    score: float
    reasons: list[str]
    entity: Optional[str] = None
    citation: str


class ResolveResponse(BaseModel):
    candidates: list[ResolveCandidate]


class BrowseRequest(MemoryFilters):
    limit: int = Field(default=50, ge=1, le=1000)
    before_id: Optional[EventId] = None
    """Page on: the last id of the previous page."""


class BrowseResponse(BaseModel):
    events: list[StoredEvent]


class ForgetRequest(Wire):
    """Forget the calling app's own events: some ids, a created-time range, or all of them.
    Criteria combine with AND; at least one is needed."""

    ids: list[EventId] = Field(default=[], max_length=10000)
    since: Optional[Seconds] = None
    until: Optional[Seconds] = None
    all: bool = False


class ForgetResponse(BaseModel):
    forgotten: int


class MemoryStats(BaseModel):
    """Counts of the events the caller may read, and the user's capture and retention settings."""

    events: int
    apps: dict[str, int]
    kinds: dict[str, int]
    paused: bool
    retention: dict[str, object]
    cross_app: bool


MEMORY_PUSH = Endpoint(
    "memory_push",
    "POST",
    "/v1/memory/events",
    "memory:write",
    MemoryEvent,
    PushResult,
    summary="Store one event from the calling app; a retried idempotency_key returns the stored id.",
    from_text=lambda text: {"kind": "note", "body": text},
)
MEMORY_PUSH_BATCH = Endpoint(
    "memory_push_batch",
    "POST",
    "/v1/memory/events/batch",
    "memory:write",
    PushBatchRequest,
    PushBatchResponse,
    summary="Store up to 1,000 events in one transaction (all or none); durable when answered.",
)
MEMORY_SEARCH = Endpoint(
    "memory_search",
    "POST",
    "/v1/memory/search",
    "memory:read",
    SearchRequest,
    SearchResponse,
    summary="Hybrid (BM25 + embeddings + recency) or keyword search over the events the app may read.",
    from_text=lambda text: {"query": text},
)
MEMORY_RESOLVE = Endpoint(
    "memory_resolve",
    "POST",
    "/v1/memory/resolve",
    "memory:read",
    ResolveRequest,
    ResolveResponse,
    summary='Rank the events a reference like "that file" or "her" may mean, with the reasons.',
    from_text=lambda text: {"text": text},
)
MEMORY_BROWSE = Endpoint(
    "memory_browse",
    "POST",
    "/v1/memory/browse",
    "memory:read",
    BrowseRequest,
    BrowseResponse,
    summary="List readable events newest first, by app, kind and time; page with before_id.",
)
MEMORY_FORGET = Endpoint(
    "memory_forget",
    "POST",
    "/v1/memory/forget",
    "memory:write",
    ForgetRequest,
    ForgetResponse,
    summary="Delete the calling app's own events (by id, time range, or all) from every index.",
)
MEMORY_STATS = Endpoint(
    "memory_stats",
    "GET",
    "/v1/memory/stats",
    "memory:read",
    response=MemoryStats,
    summary="Event counts the app may read, and whether capture is paused.",
)
ENDPOINTS = (
    MEMORY_PUSH,
    MEMORY_PUSH_BATCH,
    MEMORY_SEARCH,
    MEMORY_RESOLVE,
    MEMORY_BROWSE,
    MEMORY_FORGET,
    MEMORY_STATS,
)
