"""Grounded chat for apps: /v1/chat/completions with `"grounding": {"memory": true}` answers through
the chat skill, reading memory with the calling app's own visibility, and returns the citations as
structured data (assistant/api/grounding.py has the wire shape).

An app without memory:read gets a plain answer and a note saying why; so does a daemon whose
memory cannot be opened. Tool calls and JSON output are not grounded (they keep their own paths).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Generator

from fastapi import Request

from assistant.api import openai as W
from assistant.api.grounding import CitationOut, GroundingResult
from assistant.daemon.apps import AppIdentity
from assistant.daemon.generation import EventStream, GenerationJob
from assistant.daemon.handlers import HandlerContext
from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions, GenerationStats, TokenEvent

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "user"}
NO_SCOPE = "this app lacks the memory:read scope, so the answer does not use memory; grant it with `assistant apps add APP --scopes chat,memory:read`"


def wants(body: W.ChatRequest) -> bool:
    """Whether the request asks for a grounded answer."""
    return body.grounding is not None and body.grounding.memory


def _caller_and_note(ctx: HandlerContext, app: AppIdentity) -> tuple[Any, str | None]:
    """Return (memory caller, None), or (None, why memory is not used) for this app."""
    if not app.allows("memory:read"):
        return None, NO_SCOPE
    try:
        from assistant.daemon.handlers.memory import caller

        skill = ctx.services.skill("memory")
        return caller(skill, app), None
    except Exception as exc:  # no memory here: answer plainly and say so rather than fail the chat
        return None, f"memory is unavailable here ({exc}); answered without it"


def _result(answer: Any, note: str | None) -> GroundingResult:
    if answer is None:
        return GroundingResult(used=False, note=note)
    cites = [CitationOut(**c.to_dict()) for c in answer.citations]
    if note is None and not answer.grounded:
        note = "no record in this app's visible memory matched the question"
    return GroundingResult(used=answer.grounded, citations=cites, note=note, repaired=answer.repaired or None)


async def chat(
    ctx: HandlerContext,
    body: W.ChatRequest,
    app: AppIdentity,
    request: Request,
    model: str | None,
    opts: GenerationOptions,
) -> Any:
    """Answer a grounded chat request, streamed or whole."""
    from skills.chat import ChatOptions, ChatSkill

    caller, note = await ctx.to_thread(_caller_and_note, ctx, app)
    rt = ctx.services.runtime
    memory = ctx.services.skill("memory") if caller is not None else None
    skill = ChatSkill(rt, memory)
    assert body.grounding is not None
    options = ChatOptions(generation=opts, model=model, max_context=body.grounding.max_records)
    messages = [ChatMessage(ROLES[m.role], m.text()) for m in body.messages]
    holder: dict[str, Any] = {}

    def make(cancel: CancelToken) -> Generator[TokenEvent, None, GenerationStats]:
        stream = skill.stream(messages, caller, options, cancel)
        n = 0
        while True:
            try:
                piece = next(stream)
            except StopIteration as stop:
                answer = stop.value
                break
            n += 1
            yield TokenEvent(piece, n)
        holder["answer"] = answer
        stats: GenerationStats = answer.stats or GenerationStats(
            prompt_tokens=0,
            cached_tokens=0,
            evaluated_prompt_tokens=0,
            completion_tokens=n,
            truncated_tokens=0,
            prompt_seconds=0.0,
            time_to_first_token=0.0,
            generation_seconds=0.0,
            finish_reason="stop",
        )
        return stats

    def record(s: GenerationStats) -> None:
        ctx.metrics.generation(
            holder.get("model", model or "chat"), s.time_to_first_token, s.completion_tokens, s.finish_reason
        )

    job = GenerationJob(make, request.receive, ctx.settings.request_timeout, record, ctx.jobs)
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

    def used_model() -> str:
        answer = holder.get("answer")
        return str(answer.model) if answer is not None and answer.model else (model or rt.model_for("chat"))

    if not body.stream:
        text = await job.collect()
        s = job.stats
        usage = W.Usage(
            prompt_tokens=s.prompt_tokens if s else 0,
            completion_tokens=s.completion_tokens if s else 0,
            total_tokens=(s.prompt_tokens + s.completion_tokens) if s else 0,
        )
        return W.ChatCompletion(
            id=cid,
            created=created,
            model=used_model(),
            usage=usage,
            choices=[
                W.ChatChoice(
                    message=W.AssistantMessage(content=text), finish_reason=s.finish_reason if s else "stop"
                )
            ],
            grounding=_result(holder.get("answer"), note),
        )
    first = await job.batch()

    def chunk(delta: W.Delta, finish: str | None = None, grounding: GroundingResult | None = None) -> str:
        return W.ChatCompletionChunk(
            id=cid,
            created=created,
            model=used_model(),
            choices=[W.ChunkChoice(delta=delta, finish_reason=finish)],
            grounding=grounding,
        ).model_dump_json(exclude_none=True)

    def render(kind: str, value: Any) -> list[str]:
        if kind == "token":
            return [chunk(W.Delta(content=value.text))] if value.text else []
        finish = value.finish_reason if value is not None else "stop"
        return [chunk(W.Delta(), finish, _result(holder.get("answer"), note))]

    head = [chunk(W.Delta(role="assistant", content=""))] + [p for k, v in first for p in render(k, v)]
    return EventStream(job, head, render)


__all__ = ["chat", "wants"]
