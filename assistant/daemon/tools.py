"""Tool calling on /v1/chat/completions: OpenAI's tools, tool_choice and parallel_tool_calls onto
skills.chat_tools.ToolChat, with `tool_calls` in the reply or as streamed deltas.

The Ollama API reuses `to_tools`, `to_turns` and `start` for its own `tools` field.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Sequence

from fastapi import Request

from assistant.api import openai as W
from assistant.api.openai_tools import FunctionCall, ToolCallDelta, ToolCallOut, ToolDef, choice_name
from assistant.daemon.errors import BadRequest
from assistant.daemon.generation import EventStream, GenerationJob
from assistant.daemon.handlers import HandlerContext
from runtime.engines.base import CancelToken, GenerationOptions, GenerationStats
from skills.chat_tools import Tool, ToolCall, ToolCallEvent, ToolChat, Turn, check_tools

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


def wants_tools(body: W.ChatRequest) -> bool:
    """Whether the request uses tool calling: tools offered, or calls and results in the history."""
    return (
        bool(body.tools)
        or body.tool_choice is not None
        or any(m.tool_calls or m.role == "tool" for m in body.messages)
    )


def to_tools(defs: Sequence[ToolDef]) -> list[Tool]:
    return [Tool(d.function.name, d.function.description, d.function.parameters) for d in defs]


def to_turns(body: W.ChatRequest) -> list[Turn]:
    turns: list[Turn] = []
    for i, m in enumerate(body.messages):
        if m.role == "tool" and not m.tool_call_id:
            raise BadRequest(
                "a tool message needs the id of the call it answers",
                "send tool_call_id",
                field=f"messages[{i}].tool_call_id",
            )
        calls = tuple(ToolCall(c.id, c.function.name, c.function.arguments) for c in (m.tool_calls or []))
        turns.append(Turn(ROLES[m.role], m.text(), calls, m.tool_call_id or ""))
    return turns


def check_request(body: W.ChatRequest, tools: list[Tool]) -> str:
    """Return the tool choice; BadRequest naming the field for what cannot be honoured."""
    choice = choice_name(body.tool_choice)
    if choice not in ("auto", "none") and not tools:
        raise BadRequest(
            f"tool_choice {choice!r} needs tools", "send tools, or leave out tool_choice", field="tool_choice"
        )
    if choice not in ("auto", "none", "required") and choice not in {t.name for t in tools}:
        raise BadRequest(
            f"tool_choice names {choice!r}, which is not among the tools",
            "name one of the functions in tools",
            field="tool_choice.function.name",
        )
    if (
        tools
        and choice != "none"
        and body.response_format is not None
        and body.response_format.type != "text"
    ):
        raise BadRequest(
            "response_format cannot be combined with tools",
            "leave out response_format, or set tool_choice to none",
            field="response_format",
        )
    return choice


def start(
    ctx: HandlerContext,
    request: Request,
    model: str,
    turns: list[Turn],
    tools: list[Tool],
    choice: str,
    opts: GenerationOptions,
    parallel: bool,
    after: Callable[[], None] = lambda: None,
) -> GenerationJob:
    """Start a tool-calling generation in its own thread (metrics recorded when it ends)."""
    chat = ToolChat(ctx.services.runtime)

    def make(cancel: CancelToken) -> Any:
        return chat.stream(turns, tools, choice, opts, model, parallel, cancel)

    def record(s: GenerationStats) -> None:
        ctx.metrics.generation(model, s.time_to_first_token, s.completion_tokens, s.finish_reason)
        after()

    pool = getattr(ctx, "workers", None)
    return GenerationJob(make, request.receive, ctx.settings.request_timeout, record, ctx.jobs, pool=pool)


async def prepare(ctx: HandlerContext, body: W.ChatRequest) -> tuple[list[Turn], list[Tool], str]:
    tools = to_tools(body.tools or [])
    choice = check_request(body, tools)
    turns = to_turns(body)
    if tools and choice != "none":
        await ctx.to_thread(check_tools, tools)  # builds each grammar once: refuses what it cannot express
    return turns, tools, choice


def _out(calls: Sequence[ToolCall]) -> list[ToolCallOut]:
    return [ToolCallOut(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments)) for c in calls]


async def collect(job: Any) -> tuple[str, list[ToolCall]]:
    """Run a whole (not streamed) tool-calling job to its end: its text and its tool calls."""
    parts: list[str] = []
    calls: list[ToolCall] = []
    try:
        while not job.finished:
            for kind, value in await job.batch():
                if isinstance(value, ToolCallEvent):
                    calls.extend(value.calls)
                elif kind == "token":
                    parts.append(value.text)
    finally:
        job.close()
    return "".join(parts), calls


async def chat(
    ctx: HandlerContext, body: W.ChatRequest, request: Request, model: str, opts: GenerationOptions
) -> Any:
    """Answer a chat completion that uses tools, streamed or whole."""
    turns, tools, choice = await prepare(ctx, body)
    job = start(ctx, request, model, turns, tools, choice, opts, body.parallel_tool_calls)
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    if not body.stream:
        text, calls = await collect(job)
        stats = job.stats
        p, c = (stats.prompt_tokens, stats.completion_tokens) if stats else (0, 0)
        message = W.AssistantMessage(content=text or (None if calls else ""), tool_calls=_out(calls) or None)
        return W.ChatCompletion(
            id=cid,
            created=created,
            model=model,
            usage=W.Usage(prompt_tokens=p, completion_tokens=c, total_tokens=p + c),
            choices=[W.ChatChoice(message=message, finish_reason=stats.finish_reason if stats else "stop")],
        )
    first = await job.batch()
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    sent = 0  # calls streamed so far: each delta's index

    def chunk(delta: W.Delta, finish: str | None = None, usage: W.Usage | None = None) -> str:
        choices = [] if usage is not None else [W.ChunkChoice(delta=delta, finish_reason=finish)]
        return W.ChatCompletionChunk(
            id=cid, created=created, model=model, choices=choices, usage=usage
        ).model_dump_json(exclude_none=True)

    def render(kind: str, value: Any) -> list[str]:
        nonlocal sent
        if isinstance(value, ToolCallEvent):
            deltas = [
                ToolCallDelta(
                    index=sent + i, id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments)
                )
                for i, c in enumerate(value.calls)
            ]
            sent += len(deltas)
            return [chunk(W.Delta(tool_calls=deltas))]
        if kind == "token":
            return [chunk(W.Delta(content=value.text))] if value.text else []
        out = [chunk(W.Delta(), value.finish_reason if value else "stop")]
        if include_usage and value is not None:
            p, c = value.prompt_tokens, value.completion_tokens
            out.append(
                chunk(W.Delta(), usage=W.Usage(prompt_tokens=p, completion_tokens=c, total_tokens=p + c))
            )
        return out

    head = [chunk(W.Delta(role="assistant", content=""))] + [p for k, v in first for p in render(k, v)]
    return EventStream(job, head, render)
