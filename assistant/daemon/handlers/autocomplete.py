"""Handlers for /v1/skills/autocomplete and its feedback endpoint."""

from __future__ import annotations

from fastapi import Request

from assistant.api.autocomplete import (
    AutocompleteFeedback,
    AutocompleteFeedbackResponse,
    AutocompleteRequest,
    AutocompleteResponse,
    AutocompleteSuggestion,
)
from assistant.daemon.apps import AppIdentity
from assistant.daemon.handlers import Handler, HandlerContext


async def autocomplete(
    ctx: HandlerContext, body: AutocompleteRequest, app: AppIdentity, request: Request
) -> AutocompleteResponse:
    from skills.autocomplete import CompleteRequest, CompleteResult

    skill = ctx.services.skill("autocomplete")
    # the session is keyed by the authenticated app, never by a name in the body
    req = CompleteRequest(
        prefix=body.prefix,
        suffix=body.suffix,
        kind=body.kind,
        app=app.name,
        doc=body.session,
        budget_ms=body.budget_ms,
        max_suggestions=body.max_suggestions,
        sensitive=body.sensitive,
    )
    # most keystrokes are answered without waiting (type-through, word completion): do those on the
    # event loop, and give a thread only to a keystroke that waits for the model
    r = skill.begin(req)
    if not isinstance(r, CompleteResult):
        r = r.result() if r.ready() else await ctx.to_thread(r.result)
    return AutocompleteResponse(
        suggestions=[
            AutocompleteSuggestion(text=s.text, source=s.source, score=s.score) for s in r.suggestions
        ],
        partial=r.partial,
        cancelled=r.cancelled,
        model_called=r.model_called,
        model=r.model_id,
        prompt_tokens=r.prompt_tokens,
        cached_tokens=r.cached_tokens,
        evaluated_prompt_tokens=r.evaluated_prompt_tokens,
        latency_ms=round(r.latency_ms, 3),
    )


async def feedback(
    ctx: HandlerContext, body: AutocompleteFeedback, app: AppIdentity, request: Request
) -> AutocompleteFeedbackResponse:
    from skills.autocomplete import Feedback

    skill = ctx.services.skill("autocomplete")
    fb = Feedback(
        prefix=body.prefix,
        text=body.text,
        accepted=body.accepted,
        app=app.name,
        doc=body.session,
        sensitive=body.sensitive,
    )
    rep = await ctx.to_thread(skill.feedback, fb)
    return AutocompleteFeedbackResponse(learned=rep.stored, skipped_reason=rep.skipped_reason)


def handlers() -> dict[str, Handler]:
    return {"autocomplete": autocomplete, "autocomplete_feedback": feedback}
