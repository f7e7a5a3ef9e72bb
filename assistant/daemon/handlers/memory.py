"""Handlers for /v1/memory/*: each call names the authenticated app as the memory Caller, so the
skill filters by it; the app's scopes and the user's grants decide what it may read and change."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from assistant.api import memory as W
from assistant.daemon.apps import AppIdentity
from assistant.daemon.handlers import Handler, HandlerContext
from runtime.errors import AssistantError

MEMORY_SCOPES = ("memory:read", "memory:write")
# InvalidEvent carries no field; its messages name one (see skills/memory/ingest.py). Most specific first.
_FIELD_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"unknown event field '([^']+)'", r"\1"),
    (r"event field (\w+)", r"\1"),
    (r"(entities\.\w+)", r"\1"),
    (r"\bentities\b", "entities"),
    (r"\bkind\b", "kind"),
    (r"\bsensitivity\b", "sensitivity"),
    (r"created time", "created"),
    (r"\bidempotency_key\b", "idempotency_key"),
    (r"\bsecrets\b", "secrets"),
    (r"no title, body or uri", "body"),
    (r"search query", "query"),
    (r"search mode", "mode"),
    (r"resolve needs a phrase", "text"),
    (r"forget needs", "ids"),
    (r"cannot read the time", "since"),
)


def caller(skill: Any, app: AppIdentity) -> Any:
    """Return the memory Caller for an authenticated app: its name, its memory scopes ("admin" implies
    both), and whether the user granted it cross-app read."""
    from skills.memory import Caller

    scopes = frozenset(s for s in MEMORY_SCOPES if app.allows(s))
    # grants are the user's, stored by the memory skill (`assistant memory grant APP`); read per
    # request so a grant or revoke applies at once
    return Caller(app.name, scopes, cross_app=app.name in skill.store.grants())


def field_of(message: str) -> str | None:
    """Return the request field an InvalidEvent message is about, e.g. "events.2.kind"."""
    prefix = ""
    m = re.match(r"event (\d+): ", message)
    if m:
        prefix, message = f"events.{m.group(1)}.", message[m.end() :]
    for pattern, repl in _FIELD_PATTERNS:
        found = re.search(pattern, message)
        if found:
            return prefix + found.expand(repl)
    return prefix.rstrip(".") or None


async def _call(ctx: HandlerContext, app: AppIdentity, method: str, *args: Any) -> Any:
    """Return skill.<method>(caller, *args), run in a worker thread (SQLCipher and embeddings block)."""

    def run() -> Any:
        skill = ctx.services.skill("memory")  # the first call opens and decrypts the database
        who = caller(skill, app)
        out = getattr(skill, method)(who, *args)
        return {**out, "cross_app": who.cross_app} if method == "stats" else out

    try:
        return await ctx.to_thread(run)
    except AssistantError as exc:
        if exc.code == "invalid_event" and getattr(exc, "field", None) is None:
            exc.field = field_of(exc.message)  # type: ignore[attr-defined]  # read by errors.body_of
        raise


def _event(d: dict[str, Any]) -> W.StoredEvent:
    return W.StoredEvent.model_validate(d)


def _filters(body: W.MemoryFilters) -> Any:
    from skills.memory import Filters

    return Filters(apps=tuple(body.apps), kinds=tuple(body.kinds), since=body.since, until=body.until)


async def push(ctx: HandlerContext, body: W.MemoryEvent, app: AppIdentity, request: Request) -> W.PushResult:
    r = await _call(ctx, app, "push", body.model_dump(exclude_none=True))
    return W.PushResult(id=r.id, duplicate=r.duplicate, redactions=r.redactions)


async def push_batch(
    ctx: HandlerContext, body: W.PushBatchRequest, app: AppIdentity, request: Request
) -> W.PushBatchResponse:
    events = [e.model_dump(exclude_none=True) for e in body.events]
    results = await _call(ctx, app, "push_batch", events)
    return W.PushBatchResponse(
        results=[W.PushResult(id=r.id, duplicate=r.duplicate, redactions=r.redactions) for r in results]
    )


async def search(
    ctx: HandlerContext, body: W.SearchRequest, app: AppIdentity, request: Request
) -> W.SearchResponse:
    from skills.memory import SearchOptions

    opts = SearchOptions(mode=body.mode, limit=body.limit, filters=_filters(body))
    hits = await _call(ctx, app, "search", body.query, opts)
    return W.SearchResponse(hits=[W.SearchHit.model_validate(h.to_dict()) for h in hits])


async def resolve(
    ctx: HandlerContext, body: W.ResolveRequest, app: AppIdentity, request: Request
) -> W.ResolveResponse:
    cands = await _call(ctx, app, "resolve", body.text, body.limit)
    return W.ResolveResponse(candidates=[W.ResolveCandidate.model_validate(c.to_dict()) for c in cands])


async def browse(
    ctx: HandlerContext, body: W.BrowseRequest, app: AppIdentity, request: Request
) -> W.BrowseResponse:
    from skills.memory import BrowseOptions

    opts = BrowseOptions(filters=_filters(body), limit=body.limit, before_id=body.before_id)
    events = await _call(ctx, app, "browse", opts)
    return W.BrowseResponse(events=[_event(e.to_dict()) for e in events])


async def forget(
    ctx: HandlerContext, body: W.ForgetRequest, app: AppIdentity, request: Request
) -> W.ForgetResponse:
    from skills.memory import ForgetOptions

    # `app` is always the caller: an app forgets its own events only (the skill enforces it too)
    opts = ForgetOptions(
        ids=tuple(body.ids), app=app.name if body.all else None, since=body.since, until=body.until
    )
    n = await _call(ctx, app, "forget", opts)
    return W.ForgetResponse(forgotten=n)


async def stats(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> W.MemoryStats:
    s = await _call(ctx, app, "stats")
    return W.MemoryStats(
        events=s["events"],
        apps=s["apps"],
        kinds=s["kinds"],
        paused=s["paused"],
        retention=s["retention"],
        cross_app=s["cross_app"],
    )


def handlers() -> dict[str, Handler]:
    return {
        "memory_push": push,
        "memory_push_batch": push_batch,
        "memory_search": search,
        "memory_resolve": resolve,
        "memory_browse": browse,
        "memory_forget": forget,
        "memory_stats": stats,
    }
