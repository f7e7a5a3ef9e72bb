"""Handlers for the OpenAI-compatible /v1 endpoints: a thin translation onto the Runtime facade."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Iterator, Protocol

from fastapi import Request

from assistant.api import openai as W
from assistant.daemon.apps import AppIdentity
from assistant.daemon.errors import BadRequest, NotAvailable
from assistant.daemon.generation import EventStream, GenerationJob
from assistant.daemon.handlers import Handler, HandlerContext
from runtime.errors import AssistantError
from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions, GenerationStats, TokenEvent

DEFAULT_MAX_TOKENS = 512
MAX_EMBED_INPUTS = 256
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "user"}


class Embedder(Protocol):
    """What /v1/embeddings needs from the memory skill."""

    def embed(self, texts: list[str]) -> Any:
        """Return an (n, dim) array of L2-normalised vectors."""
        ...


def _model_id(ctx: HandlerContext, requested: str | None, role: str) -> str:
    """Return a model id that is installed or in the catalog; 400/404 naming `model` otherwise."""
    from runtime.store import check_id

    rt = ctx.services.runtime
    model = requested or rt.model_for(role)
    try:
        check_id(model)
        if model not in rt.store.catalog:
            rt.store.get(model)  # raises ModelNotFound with the install hint
    except AssistantError as exc:
        exc.field = exc.field or "model"  # the store checks an id; here it is the request's `model`
        raise
    return model


def _roles(ctx: HandlerContext, model: str) -> tuple[str, ...]:
    """Return the roles of a catalog or installed model."""
    rt = ctx.services.runtime
    manifest = rt.store.catalog.get(model)
    return tuple(manifest.roles) if manifest is not None else tuple(rt.store.get(model).roles)


def _options(body: W.ChatRequest | W.CompletionRequest, json_schema: Any = None) -> GenerationOptions:
    max_tokens = getattr(body, "max_completion_tokens", None) or body.max_tokens or DEFAULT_MAX_TOKENS
    return GenerationOptions(
        max_tokens=max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        stop=body.stop_list(),
        json_schema=json_schema,
        seed=body.seed,
    )


def _json_schema(fmt: W.ResponseFormat | None) -> dict[str, Any] | None:
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "object"}
    if fmt.json_schema is None or not fmt.json_schema.schema_:
        raise BadRequest(
            "response_format json_schema needs a schema",
            "send response_format.json_schema.schema",
            field="response_format.json_schema.schema",
        )
    from skills.chat_tools import check_schema

    # checked here, before any generation path builds a grammar from it: llama.cpp's converter
    # raises AssertionError on a dict that is not a schema (schemathesis found the 500)
    return check_schema(fmt.json_schema.schema_, "response_format.json_schema.schema")


def _usage(stats: GenerationStats | None) -> W.Usage:
    p = stats.prompt_tokens if stats else 0
    c = stats.completion_tokens if stats else 0
    return W.Usage(prompt_tokens=p, completion_tokens=c, total_tokens=p + c)


def _finish(stats: GenerationStats | None) -> str:
    return stats.finish_reason if stats else "stop"


def _start(
    ctx: HandlerContext,
    request: Request,
    model: str,
    make: Callable[[CancelToken], Iterator[TokenEvent]],
    schema: Any,
) -> GenerationJob:
    def guarded(cancel: CancelToken) -> Iterator[TokenEvent]:
        try:
            return (yield from make(cancel))
        except AssistantError:
            raise
        except Exception as exc:
            # llama.cpp rejects some schemas only when turning them into a grammar
            if schema is not None:
                raise BadRequest(
                    f"cannot use this JSON schema: {exc}",
                    "simplify the schema",
                    field="response_format.json_schema.schema",
                ) from None
            raise

    def record(s: GenerationStats) -> None:
        ctx.metrics.generation(model, s.time_to_first_token, s.completion_tokens, s.finish_reason)

    return GenerationJob(
        guarded, request.receive, ctx.settings.request_timeout, record, ctx.jobs, pool=ctx.workers
    )


async def chat(ctx: HandlerContext, body: W.ChatRequest, app: AppIdentity, request: Request) -> Any:
    model = _model_id(ctx, body.model, "chat")
    schema = _json_schema(body.response_format)
    opts = _options(body, schema)
    from assistant.daemon import tools  # tool calling: its own generation loop and reply shape

    if tools.wants_tools(body):
        return await tools.chat(ctx, body, request, model, opts)
    from assistant.daemon import grounded  # answers from memory, with citations (api/grounding.py)

    if grounded.wants(body) and schema is None:
        return await grounded.chat(ctx, body, app, request, model if body.model else None, opts)
    messages = [ChatMessage(ROLES[m.role], m.text()) for m in body.messages]
    rt = ctx.services.runtime
    job = _start(
        ctx, request, model, lambda cancel: rt.chat(messages, opts, model=model, cancel=cancel), schema
    )
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    if not body.stream:
        text = await job.collect()
        return W.ChatCompletion(
            id=cid,
            created=created,
            model=model,
            usage=_usage(job.stats),
            choices=[
                W.ChatChoice(message=W.AssistantMessage(content=text), finish_reason=_finish(job.stats))
            ],
        )
    # wait for the first event before sending a status, so queue and model errors get their own
    first = await job.batch()
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def chunk(delta: W.Delta, finish: str | None = None, usage: W.Usage | None = None) -> str:
        choices = [] if usage is not None else [W.ChunkChoice(delta=delta, finish_reason=finish)]
        return W.ChatCompletionChunk(
            id=cid, created=created, model=model, choices=choices, usage=usage
        ).model_dump_json(exclude_none=True)

    def render(kind: str, value: Any) -> list[str]:
        if kind == "token":
            return [chunk(W.Delta(content=value.text))] if value.text else []
        out = [chunk(W.Delta(), _finish(value))]
        if include_usage:
            out.append(chunk(W.Delta(), usage=_usage(value)))
        return out

    head = [chunk(W.Delta(role="assistant", content=""))] + [p for k, v in first for p in render(k, v)]
    return EventStream(job, head, render)


async def completions(
    ctx: HandlerContext, body: W.CompletionRequest, app: AppIdentity, request: Request
) -> Any:
    model = _model_id(ctx, body.model, "chat")
    if isinstance(body.prompt, list):
        if len(body.prompt) != 1:
            raise BadRequest(
                "only one prompt per request is supported", "send prompt as a string", field="prompt"
            )
        prompt = body.prompt[0]
    else:
        prompt = body.prompt
    opts = _options(body)
    rt = ctx.services.runtime
    job = _start(
        ctx, request, model, lambda cancel: rt.complete(prompt, opts, model=model, cancel=cancel), None
    )
    cid, created = f"cmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    if not body.stream:
        text = await job.collect()
        return W.TextCompletion(
            id=cid,
            created=created,
            model=model,
            usage=_usage(job.stats),
            choices=[
                W.CompletionChoice(
                    text=(prompt if body.echo else "") + text, finish_reason=_finish(job.stats)
                )
            ],
        )
    first = await job.batch()

    def piece(text: str, finish: str | None = None, usage: W.Usage | None = None) -> str:
        return W.TextCompletion(
            id=cid,
            created=created,
            model=model,
            usage=usage,
            choices=[W.CompletionChoice(text=text, finish_reason=finish)],
        ).model_dump_json(exclude_none=True)

    def render(kind: str, value: Any) -> list[str]:
        if kind == "token":
            return [piece(value.text)] if value.text else []
        return [piece("", _finish(value), _usage(value))]

    head = ([piece(prompt)] if body.echo else []) + [p for k, v in first for p in render(k, v)]
    return EventStream(job, head, render)


def _embedder(ctx: HandlerContext) -> Embedder:
    try:
        skill = ctx.services.skill("memory")
    except (ImportError, AttributeError) as exc:  # no skill module, or one without create()
        raise NotAvailable(
            f"embeddings need the memory skill, which is not installed ({exc})",
            "install the memory skill, then restart the daemon",
        ) from None
    return skill.embedder


def _embedding_model(ctx: HandlerContext, requested: str | None) -> str:
    """Return the embedding model's id; 404 for an unknown `model`, 400 for one that does not embed."""
    from skills.memory.embed import MODEL_ID as EMBED_MODEL  # the memory skill's one embedder

    if requested is None:
        return EMBED_MODEL
    model = _model_id(ctx, requested, "embed")
    if "embed" not in _roles(ctx, model):
        raise BadRequest(
            f"model {model} is not an embedding model",
            f"use {EMBED_MODEL}, or leave out `model`",
            field="model",
        )
    if model != EMBED_MODEL:
        # the memory skill embeds with one model; answering with it under another's name would lie
        raise BadRequest(
            f"model {model} is not the daemon's embedding model",
            f"use {EMBED_MODEL}, or leave out `model`",
            field="model",
        )
    return model


async def embeddings(
    ctx: HandlerContext, body: W.EmbeddingRequest, app: AppIdentity, request: Request
) -> Any:
    texts = body.texts()
    if not texts or len(texts) > MAX_EMBED_INPUTS:
        raise BadRequest(
            f"input must hold 1 to {MAX_EMBED_INPUTS} texts, not {len(texts)}",
            "split the input into batches",
            field="input",
        )
    model = await ctx.to_thread(_embedding_model, ctx, body.model)
    embedder = await ctx.to_thread(_embedder, ctx)  # the first call builds the skill and loads ONNX
    vectors = await ctx.to_thread(embedder.embed, texts)
    n = sum(len(t.split()) for t in texts)
    return W.EmbeddingList(
        model=model,
        usage=W.Usage(prompt_tokens=n, completion_tokens=0, total_tokens=n),
        data=[
            W.Embedding(index=i, embedding=_encode(row, body.encoding_format))
            for i, row in enumerate(vectors)
        ],
    )


def _encode(row: Any, fmt: str) -> list[float] | str:
    if fmt == "base64":
        import base64

        import numpy as np

        return base64.b64encode(np.asarray(row, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in row]


async def models(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> W.ModelList:
    rt = ctx.services.runtime
    installed = {m.id: m for m in await ctx.to_thread(rt.store.list)}
    cards: dict[str, W.ModelCard] = {}
    for mid, man in sorted(rt.store.catalog.items()):
        rec = installed.get(mid)
        cards[mid] = W.ModelCard(
            id=mid,
            created=int(rec.installed_at) if rec else 0,
            installed=rec is not None,
            roles=list(man.roles),
        )
    for mid, rec in installed.items():
        if mid not in cards:
            cards[mid] = W.ModelCard(
                id=mid, created=int(rec.installed_at), installed=True, roles=list(rec.roles)
            )
    return W.ModelList(data=list(cards.values()))


def handlers() -> dict[str, Handler]:
    return {"models": models, "chat": chat, "completions": completions, "embeddings": embeddings}
