"""Handlers for /v1/memory/*: each call names the authenticated app as the memory Caller, so the
skill filters by it; the app's scopes and the user's grants decide what it may read and change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from fastapi import Request

from assistant.api import memory as W
from assistant.daemon.apps import AppIdentity
from assistant.daemon.handlers import Handler, HandlerContext

if TYPE_CHECKING:
    from skills.memory import Caller, MemorySkill

MEMORY_SCOPES = ("memory:read", "memory:write")
T = TypeVar("T")


def caller(skill: MemorySkill, app: AppIdentity) -> Caller:
    """Return the memory Caller for an authenticated app: its name, its memory scopes ("admin" implies
    both), and whether the user granted it cross-app read."""
    from skills.memory import Caller

    scopes = frozenset(s for s in MEMORY_SCOPES if app.allows(s))
    # grants are the user's, stored by the memory skill (`assistant memory grant APP`); read per
    # request so a grant or revoke applies at once. A grant older than this registration was
    # given to a revoked app of the same name: it does not pass to the new one.
    granted = skill.granted_at(app.name)
    cross_app = granted is not None and granted >= app.registered_at
    return Caller(app.name, scopes, cross_app=cross_app, registered_at=app.registered_at)


async def _call(ctx: HandlerContext, app: AppIdentity, call: Callable[[MemorySkill, Caller], T]) -> T:
    """Return call(skill, caller) run in a worker thread (SQLCipher and embeddings block)."""

    def run() -> T:
        # the first call opens and decrypts the database
        skill: MemorySkill = ctx.services.skill("memory")
        return call(skill, caller(skill, app))

    return await ctx.to_thread(run)


def _event(d: dict[str, Any]) -> W.StoredEvent:
    return W.StoredEvent.model_validate(d)


def _filters(body: W.MemoryFilters) -> Any:
    from skills.memory import Filters

    return Filters(apps=tuple(body.apps), kinds=tuple(body.kinds), since=body.since, until=body.until)


async def push(ctx: HandlerContext, body: W.MemoryEvent, app: AppIdentity, request: Request) -> W.PushResult:
    event = body.model_dump(exclude_none=True)
    r = await _call(ctx, app, lambda skill, who: skill.push(who, event))
    return W.PushResult(id=r.id, duplicate=r.duplicate, redactions=r.redactions)


async def push_batch(
    ctx: HandlerContext, body: W.PushBatchRequest, app: AppIdentity, request: Request
) -> W.PushBatchResponse:
    events = [e.model_dump(exclude_none=True) for e in body.events]
    results = await _call(ctx, app, lambda skill, who: skill.push_batch(who, events))
    return W.PushBatchResponse(
        results=[W.PushResult(id=r.id, duplicate=r.duplicate, redactions=r.redactions) for r in results]
    )


async def search(
    ctx: HandlerContext, body: W.SearchRequest, app: AppIdentity, request: Request
) -> W.SearchResponse:
    from skills.memory import SearchOptions

    opts = SearchOptions(mode=body.mode, limit=body.limit, filters=_filters(body))
    hits = await _call(ctx, app, lambda skill, who: skill.search(who, body.query, opts))
    return W.SearchResponse(hits=[W.SearchHit.model_validate(h.to_dict()) for h in hits])


async def resolve(
    ctx: HandlerContext, body: W.ResolveRequest, app: AppIdentity, request: Request
) -> W.ResolveResponse:
    cands = await _call(ctx, app, lambda skill, who: skill.resolve(who, body.text, body.limit, body.context))
    return W.ResolveResponse(candidates=[W.ResolveCandidate.model_validate(c.to_dict()) for c in cands])


async def browse(
    ctx: HandlerContext, body: W.BrowseRequest, app: AppIdentity, request: Request
) -> W.BrowseResponse:
    from skills.memory import BrowseOptions

    opts = BrowseOptions(filters=_filters(body), limit=body.limit, before_id=body.before_id)
    events = await _call(ctx, app, lambda skill, who: skill.browse(who, opts))
    return W.BrowseResponse(events=[_event(e.to_dict()) for e in events])


async def forget(
    ctx: HandlerContext, body: W.ForgetRequest, app: AppIdentity, request: Request
) -> W.ForgetResponse:
    from skills.memory import ForgetOptions

    # `app` is always the caller: an app forgets its own events only (the skill enforces it too)
    opts = ForgetOptions(
        ids=tuple(body.ids), app=app.name if body.all else None, since=body.since, until=body.until
    )
    n = await _call(ctx, app, lambda skill, who: skill.forget(who, opts))
    return W.ForgetResponse(forgotten=n)


async def stats(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> W.MemoryStats:
    s = await _call(ctx, app, lambda skill, who: {**skill.stats(who), "cross_app": who.cross_app})
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
