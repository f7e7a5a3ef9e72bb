"""Handlers for the Ollama-compatible /api/* endpoints: Ollama's shapes onto the same Runtime, tool
calling and embedder as /v1, streamed as NDJSON (one JSON object per line) by default.

What Ollama offers and we cannot honour is refused with the field named: images, `think`,
generate's `suffix`/`template`/`context`, a `num_ctx` above the model's loaded context, and a
`format` that is not a JSON schema the grammar can enforce.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any, Callable, Iterator

from fastapi import Request
from starlette.responses import Response

from assistant.api import ollama as O
from assistant.api import openai as W
from assistant.daemon.apps import AppIdentity
from assistant.daemon.errors import BadRequest, body_of
from assistant.daemon.generation import GenerationJob
from assistant.daemon.handlers import Handler, HandlerContext
from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions, GenerationStats, TokenEvent
from runtime.errors import AssistantError, ModelNotFound
from runtime.gguf import FILE_TYPES, GGUFError, GGUFInfo, gguf_info, human_count, read_gguf
from skills.chat_tools import Tool, ToolCall, ToolCallEvent, Turn, check_schema

DEFAULT_MAX_TOKENS = 512
# Ollama's sampling defaults, used when a request's options leave them out (and shown by /api/show)
SAMPLING = {"temperature": 0.8, "top_p": 0.9, "top_k": 40, "repeat_penalty": 1.0}
DURATION = re.compile(r"^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$")
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _model(ctx: HandlerContext, name: str, field: str = "model") -> str:
    """Return the catalog id for an Ollama model name (":latest" accepted); 404 naming the field."""
    from assistant.daemon.handlers.openai import _model_id

    model = name[: -len(":latest")] if name.endswith(":latest") else name
    try:
        return _model_id(ctx, model, "chat")
    except AssistantError as exc:
        exc.field = field
        raise


def _keep_alive(value: str | float | None) -> float | None:
    """Seconds from Ollama's keep_alive ("5m", "30s", 0; negative: forever); None when not given."""
    if value is None:
        return None
    m = DURATION.match(str(value).strip())
    if m is None:
        raise BadRequest(
            f"keep_alive {value!r} is not a duration",
            'send seconds, or "30s", "5m", "1h"',
            field="keep_alive",
        )
    return float(m.group(1)) * UNITS[m.group(2)]


def _keep(ctx: HandlerContext, model: str, seconds: float | None) -> None:
    """Set how long model stays loaded once idle, as each Ollama request does: its keep_alive, or the
    daemon's when it sends none. 0 unloads after this request (done where the request ends)."""
    ctx.services.runtime.scheduler.keep(model, None if seconds is None or seconds == 0 else seconds)


def _format(fmt: Any) -> dict[str, Any] | None:
    if fmt is None or fmt == "":
        return None
    if fmt == "json":
        return {"type": "object"}
    return check_schema(fmt, "format")


def _context_of(ctx: HandlerContext, model: str) -> int:
    from runtime.runtime import DEFAULT_CTX

    manifest = ctx.services.runtime.store.catalog.get(model)
    return min(DEFAULT_CTX, manifest.context_length) if manifest and manifest.context_length else DEFAULT_CTX


def _options(
    ctx: HandlerContext, model: str, opts: O.Options | None, schema: dict[str, Any] | None
) -> GenerationOptions:
    o = opts or O.Options()
    if o.num_ctx is not None and o.num_ctx > _context_of(ctx, model):
        raise BadRequest(
            f"num_ctx {o.num_ctx} is over {model}'s loaded context of {_context_of(ctx, model)} tokens",
            f"send num_ctx <= {_context_of(ctx, model)}, or leave it out",
            field="options.num_ctx",
        )
    n = o.num_predict
    return GenerationOptions(
        max_tokens=DEFAULT_MAX_TOKENS if n is None or n < 0 else max(n, 1),
        temperature=SAMPLING["temperature"] if o.temperature is None else o.temperature,
        top_p=SAMPLING["top_p"] if o.top_p is None else o.top_p,
        top_k=int(SAMPLING["top_k"]) if o.top_k is None else o.top_k,
        repeat_penalty=SAMPLING["repeat_penalty"] if o.repeat_penalty is None else o.repeat_penalty,
        stop=tuple(s for s in (o.stop or []) if s),
        json_schema=schema,
        seed=o.seed,
    )


def _refuse_images(images: list[str] | None, field: str) -> None:
    if images:
        raise BadRequest(
            "images are not supported: no vision model is installed", "send text only", field=field
        )


def _refuse_think(think: bool | str | None) -> None:
    if think not in (None, False, ""):
        raise BadRequest(
            "thinking is not supported by the installed models", "leave out think", field="think"
        )


def _done(stats: GenerationStats | None, model: str, reason: str | None = None) -> dict[str, Any]:
    s = stats
    ns = lambda sec: int(sec * 1e9)  # noqa: E731
    return {
        "model": model,
        "created_at": _now(),
        "done": True,
        "done_reason": reason or (s.finish_reason if s else "stop"),
        "total_duration": ns(s.generation_seconds) if s else 0,
        "load_duration": 0,
        "prompt_eval_count": s.prompt_tokens if s else 0,
        "prompt_eval_duration": ns(s.prompt_seconds) if s else 0,
        "eval_count": s.completion_tokens if s else 0,
        "eval_duration": ns(max(s.generation_seconds - s.time_to_first_token, 0.0)) if s else 0,
    }


def _reason(stats: GenerationStats | None) -> str:
    # Ollama says "stop" for a reply that called tools; "length" when num_predict ran out
    r = stats.finish_reason if stats else "stop"
    return "stop" if r == "tool_calls" else r


class NDJSONStream(Response):
    """Streams a GenerationJob as NDJSON: render(kind, value) gives the objects for one job item.
    An error after the status is out goes in-band as {"error": ...}, which Ollama clients raise."""

    def __init__(self, job: GenerationJob, render: Callable[[str, Any], list[dict[str, Any]]]) -> None:
        super().__init__(None, 200, {"cache-control": "no-cache"}, media_type="application/x-ndjson")
        self.job, self.lines_of = job, render

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            while not self.job.finished:
                lines: list[dict[str, Any]] = []
                try:
                    items = await self.job.batch()
                except Exception as exc:  # noqa: BLE001 - the status is sent; report the error in-band
                    err = (
                        exc
                        if isinstance(exc, AssistantError)
                        else AssistantError(f"generation failed: {exc}")
                    )
                    lines = [{"error": body_of(err)["error"]["message"], "detail": body_of(err)["error"]}]
                    await send({"type": "http.response.body", "body": _lines(lines), "more_body": True})
                    break
                for kind, value in items:
                    lines.extend(self.lines_of(kind, value))
                if lines:
                    await send({"type": "http.response.body", "body": _lines(lines), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away while we were writing
            pass
        finally:
            self.job.close()


def _lines(objs: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode()


def _job(
    ctx: HandlerContext,
    request: Request,
    model: str,
    make: Callable[[CancelToken], Iterator[TokenEvent]],
    keep_alive: float | None,
) -> GenerationJob:
    rt = ctx.services.runtime

    def record(s: GenerationStats) -> None:
        ctx.metrics.generation(model, s.time_to_first_token, s.completion_tokens, s.finish_reason)
        if keep_alive is not None and keep_alive == 0:
            rt.scheduler.unload(model)  # Ollama's keep_alive 0: free the memory as soon as it is done

    return GenerationJob(
        make,
        request.receive,
        ctx.settings.request_timeout,
        record,
        ctx.jobs,
        pool=getattr(ctx, "workers", None),
    )


async def _load_only(ctx: HandlerContext, model: str, keep_alive: float | None) -> None:
    """Ollama loads (or with keep_alive 0 unloads) a model when asked with no prompt or messages."""
    rt = ctx.services.runtime

    def load() -> None:
        with rt.scheduler.use(model):
            pass
        if keep_alive == 0:
            rt.scheduler.unload(model)

    await ctx.to_thread(load)


def _tool_calls(calls: tuple[ToolCall, ...] | list[ToolCall]) -> list[dict[str, Any]]:
    return [{"function": {"name": c.name, "arguments": json.loads(c.arguments)}} for c in calls]


async def chat(ctx: HandlerContext, body: O.ChatRequest, app: AppIdentity, request: Request) -> Any:
    model = _model(ctx, body.model)
    keep = _keep_alive(body.keep_alive)
    _refuse_think(body.think)
    for i, m in enumerate(body.messages):
        _refuse_images(m.images, f"messages[{i}].images")
    schema = await ctx.to_thread(_format, body.format)
    opts = _options(ctx, model, body.options, schema)
    tools = [Tool(t.function.name, t.function.description, t.function.parameters) for t in body.tools or []]
    if tools:
        from skills.chat_tools import check_tools

        if schema is not None:
            raise BadRequest("format cannot be combined with tools", "leave out format", field="format")
        await ctx.to_thread(check_tools, tools)
    _keep(ctx, model, keep)  # a request refused above changes nothing
    if not body.messages:
        await _load_only(ctx, model, keep)
        done = _done(None, model, "unload" if keep == 0 else "load")
        return O.ChatResponse(message=O.ReplyMessage(), **done)
    uses_tools = bool(tools) or any(m.tool_calls or m.role == "tool" for m in body.messages)
    if uses_tools:
        from assistant.daemon import tools as T

        turns = [
            Turn(
                m.role,
                m.content,
                tuple(
                    ToolCall("", c.function.name, json.dumps(c.function.arguments))
                    for c in m.tool_calls or []
                ),
                m.tool_name or "",
            )
            for m in body.messages
        ]
        rt = ctx.services.runtime

        def unload() -> None:
            if keep == 0:
                rt.scheduler.unload(model)

        job = T.start(ctx, request, model, turns, tools, "auto", opts, True, unload)
    else:
        messages = [ChatMessage(m.role, m.content) for m in body.messages]
        rt = ctx.services.runtime
        job = _job(ctx, request, model, lambda c: rt.chat(messages, opts, model=model, cancel=c), keep)
    if not body.stream:
        from assistant.daemon.tools import collect

        text, calls = await collect(job)
        reply = O.ReplyMessage(content=text, tool_calls=_tool_calls(calls) or None)  # type: ignore[arg-type]
        return O.ChatResponse(message=reply, **_done(job.stats, model, _reason(job.stats)))

    def render(kind: str, value: Any) -> list[dict[str, Any]]:
        if isinstance(value, ToolCallEvent):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "",
                "tool_calls": _tool_calls(value.calls),
            }
            return [{"model": model, "created_at": _now(), "message": message, "done": False}]
        if kind == "token":
            if not value.text:
                return []
            message = {"role": "assistant", "content": value.text}
            return [{"model": model, "created_at": _now(), "message": message, "done": False}]
        return [{**_done(value, model, _reason(value)), "message": {"role": "assistant", "content": ""}}]

    return NDJSONStream(job, render)


async def generate(ctx: HandlerContext, body: O.GenerateRequest, app: AppIdentity, request: Request) -> Any:
    model = _model(ctx, body.model)
    keep = _keep_alive(body.keep_alive)
    _refuse_think(body.think)
    _refuse_images(body.images, "images")
    for name in ("suffix", "template", "context"):
        if getattr(body, name):
            raise BadRequest(f"{name} is not supported", f"leave out {name}", field=name)
    schema = await ctx.to_thread(_format, body.format)
    opts = _options(ctx, model, body.options, schema)
    _keep(ctx, model, keep)
    if not body.prompt:
        await _load_only(ctx, model, keep)
        return O.GenerateResponse(response="", **_done(None, model, "unload" if keep == 0 else "load"))
    rt = ctx.services.runtime
    if body.raw:
        job = _job(ctx, request, model, lambda c: rt.complete(body.prompt, opts, model=model, cancel=c), keep)
    else:
        msgs = ([ChatMessage("system", body.system)] if body.system else []) + [
            ChatMessage("user", body.prompt)
        ]
        job = _job(ctx, request, model, lambda c: rt.chat(msgs, opts, model=model, cancel=c), keep)
    if not body.stream:
        text = await job.collect()
        return O.GenerateResponse(response=text, **_done(job.stats, model))

    def render(kind: str, value: Any) -> list[dict[str, Any]]:
        if kind == "token":
            return (
                [{"model": model, "created_at": _now(), "response": value.text, "done": False}]
                if value.text
                else []
            )
        return [{**_done(value, model), "response": ""}]

    return NDJSONStream(job, render)


def _gguf(rec: Any) -> GGUFInfo | None:
    """The model file's GGUF header (cached); None for other formats or a file that cannot be read."""
    if rec.format != "gguf":
        return None
    try:
        return gguf_info(rec.path)
    except (OSError, GGUFError):
        return None


def _details(rec: Any) -> O.ModelDetails:
    """Ollama's details: from the GGUF header where there is one (family is its architecture)."""
    man = getattr(rec, "manifest", None)
    info = _gguf(rec)
    meta = info.metadata if info else {}
    family = str(meta.get("general.architecture") or (rec.id.split("-")[0] if rec.id else ""))
    quant = (man.quantization if man else None) or FILE_TYPES.get(meta.get("general.file_type", -1), "")
    return O.ModelDetails(
        format=rec.format,
        family=family,
        families=[family] if family else None,
        parameter_size=human_count(info.parameter_count) if info and info.parameter_count else "",
        quantization_level=quant,
    )


def _capabilities(roles: tuple[str, ...]) -> list[str]:
    caps = []
    if {"chat", "complete", "autocomplete"} & set(roles):
        caps += ["completion", "tools"]
    if "embed" in roles:
        caps.append("embedding")
    return caps


async def tags(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> O.Tags:
    def listing() -> O.Tags:  # in a thread: details read each GGUF header once
        return O.Tags(
            models=[
                O.TagModel(
                    name=m.id,
                    model=m.id,
                    modified_at=dt.datetime.fromtimestamp(m.installed_at, dt.timezone.utc).isoformat(),
                    size=m.size,
                    digest=m.sha256 or "",
                    details=_details(m),
                )
                for m in ctx.services.runtime.store.list()
                if _capabilities(tuple(m.roles))
            ]
        )

    return await ctx.to_thread(listing)


async def show(
    ctx: HandlerContext, body: O.ShowRequest, app: AppIdentity, request: Request
) -> O.ShowResponse:
    name = body.model or body.name
    if not name:
        raise BadRequest("no model named", "send model", field="model")
    model = name[: -len(":latest")] if name.endswith(":latest") else name
    store = ctx.services.runtime.store
    try:
        rec = await ctx.to_thread(store.get, model)
    except ModelNotFound as exc:
        exc.field = "model"
        raise
    return await ctx.to_thread(_show, ctx, rec, body.verbose)  # reads the GGUF header


def _show(ctx: HandlerContext, rec: Any, verbose: bool) -> O.ShowResponse:
    """Ollama's show for one installed model: the GGUF's own chat template and metadata (arrays
    empty unless verbose, as Ollama), the sampling defaults the daemon applies, and the details."""
    man = rec.manifest
    details = _details(rec)
    info: dict[str, Any] = {
        "general.architecture": details.family,
        "general.name": man.name if man else rec.id,
    }
    template, params = "", []
    if _gguf(rec) is not None:
        try:  # the token list only for the end-of-turn token's text, unless verbose wants every array
            full = read_gguf(rec.path, "all" if verbose else ("tokenizer.ggml.tokens",))
        except (OSError, GGUFError):
            full = None
        if full is not None:
            meta = dict(full.metadata)
            tokens, eos = meta.get("tokenizer.ggml.tokens") or [], meta.get("tokenizer.ggml.eos_token_id")
            if isinstance(eos, int) and 0 <= eos < len(tokens):
                params.append(("stop", json.dumps(tokens[eos], ensure_ascii=False)))
            if not verbose:
                meta["tokenizer.ggml.tokens"] = []
            meta.setdefault("general.parameter_count", full.parameter_count)
            template = str(meta.get("tokenizer.chat_template", ""))
            info = {**info, **meta}  # the file's own general.name wins over the catalog's
    if man is not None and man.context_length:
        info["context_length"] = man.context_length
    if rec.format == "gguf":
        params = [("num_ctx", str(_context_of(ctx, rec.id))), *params]
        params += [(k, f"{v:g}") for k, v in SAMPLING.items()]
    parameters = "\n".join(f"{k:<30} {v}" for k, v in params)
    modelfile = [f"# Modelfile of {rec.id}, as the assistant daemon serves it", f"FROM {rec.path}"]
    if template:
        modelfile.append(f'TEMPLATE """{template}"""')
    modelfile += [f"PARAMETER {k} {v}" for k, v in params]
    license = man.license if man else ""
    if license:
        modelfile.append(f'LICENSE """{license}"""')
    return O.ShowResponse(
        modelfile="\n".join(modelfile) + "\n",
        parameters=parameters,
        template=template,
        license=license,
        details=details,
        model_info=info,
        capabilities=_capabilities(tuple(rec.roles)),
        modified_at=dt.datetime.fromtimestamp(rec.installed_at, dt.timezone.utc).isoformat(),
    )


async def ps(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> O.Running:
    rt = ctx.services.runtime
    store = rt.store
    out = []
    for lm in rt.scheduler.loaded():
        try:
            rec = await ctx.to_thread(store.get, lm.model_id)
        except AssistantError:
            continue
        left = rt.scheduler.expires_in(lm.model_id)
        until = (
            dt.datetime.max.replace(tzinfo=dt.timezone.utc)  # kept loaded until unloaded (keep_alive < 0)
            if left is None or left > 1e10  # beyond a few centuries: past what datetime holds
            else dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=left)
        )
        out.append(
            O.RunningModel(
                name=lm.model_id,
                model=lm.model_id,
                size=lm.memory_bytes,
                digest=rec.sha256 or "",
                details=await ctx.to_thread(_details, rec),
                expires_at=until.isoformat(),
                size_vram=0 if lm.device == "cpu" else lm.memory_bytes,
                context_length=_context_of(ctx, lm.model_id) if rec.format == "gguf" else None,
            )
        )
    return O.Running(models=out)


async def embed(
    ctx: HandlerContext, body: O.EmbedRequest, app: AppIdentity, request: Request
) -> O.EmbedResponse:
    from assistant.daemon.handlers import openai as H

    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts or len(texts) > H.MAX_EMBED_INPUTS:
        raise BadRequest(
            f"input must hold 1 to {H.MAX_EMBED_INPUTS} texts, not {len(texts)}",
            "split the input",
            field="input",
        )
    if body.dimensions is not None:
        raise BadRequest("dimensions is not supported", "leave out dimensions", field="dimensions")
    t0 = time.perf_counter()
    name = body.model[: -len(":latest")] if body.model.endswith(":latest") else body.model
    resp = await H.embeddings(ctx, W.EmbeddingRequest(model=name, input=texts), app, request)
    return O.EmbedResponse(
        model=resp.model,
        embeddings=[list(e.embedding) for e in resp.data],
        total_duration=int((time.perf_counter() - t0) * 1e9),
        load_duration=0,
        prompt_eval_count=resp.usage.prompt_tokens,
    )


async def version(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> O.Version:
    return O.Version(version=ctx.version)


async def pull(ctx: HandlerContext, body: O.PullRequest, app: AppIdentity, request: Request) -> Any:
    name = body.model or body.name
    if not name:
        raise BadRequest("no model named", "send model", field="model")
    model = name[: -len(":latest")] if name.endswith(":latest") else name
    store = ctx.services.runtime.store
    if model not in store.catalog:
        raise ModelNotFound(
            f"{model} is not in the catalog; only catalog models are installed (verified by sha256)",
            "see `assistant models` for the catalog",
            field="model",
        )
    rec = await ctx.to_thread(store.pull, model)
    steps: list[dict[str, Any]] = [
        {"status": f"pulling {model}"},
        {
            "status": "verifying sha256 digest",
            "digest": rec.sha256 or "",
            "total": rec.size,
            "completed": rec.size,
        },
        {"status": "success"},
    ]
    if not body.stream:
        return O.PullStatus(status="success")
    return Response(_lines(steps), media_type="application/x-ndjson")


def handlers() -> dict[str, Handler]:
    return {
        "ollama.chat": chat,
        "ollama.generate": generate,
        "ollama.tags": tags,
        "ollama.show": show,
        "ollama.ps": ps,
        "ollama.embed": embed,
        "ollama.version": version,
        "ollama.pull": pull,
    }
