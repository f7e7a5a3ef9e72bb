"""The MCP tool and resource table: each tool declared once, with its scope and its input and output
as pydantic models (their JSON schemas are what MCP clients see), like the daemon's endpoint table.

Tools run in-process against the daemon's HandlerContext as the calling app: the memory tools go
through the same handlers as /v1/memory/* (so the caller sees only what its memory visibility
allows, and pushes under its own name), translate and autocomplete through theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from pydantic import BaseModel, Field

from assistant.api import autocomplete as A
from assistant.api import memory as M
from assistant.api import translate as T
from assistant.api.base import SCOPES, Wire
from assistant.daemon.apps import AppIdentity
from assistant.daemon.errors import BadRequest
from assistant.daemon.handlers import HandlerContext

MAX_AUDIO_FILE = 256 * 2**20
Run = Callable[[HandlerContext, AppIdentity, Any], Awaitable[BaseModel]]


@dataclass(frozen=True)
class McpTool:
    """One MCP tool: what the calling app must hold, its input and output models, and how it runs."""

    name: str
    description: str
    scope: str
    input: type[BaseModel]
    output: type[BaseModel]
    run: Run

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"MCP tool {self.name}: unknown scope {self.scope!r}")


@dataclass(frozen=True)
class McpResource:
    """One readable resource: its URI, scope, and how its JSON text is made."""

    uri: str
    name: str
    description: str
    scope: str
    read: Callable[[HandlerContext, AppIdentity], Awaitable[BaseModel]]


# -- tools of our own (the others reuse the endpoints' wire models) -------------------------------
class TranscribeInput(Wire):
    path: str = Field(min_length=1, max_length=4096, description="absolute path of a local audio file")
    language: Optional[str] = Field(default=None, max_length=16, description="e.g. en; None detects it")


class TranscribeOutput(BaseModel):
    text: str
    language: str
    duration: float = Field(description="seconds of audio")
    model: str


class AskInput(Wire):
    question: str = Field(min_length=1, max_length=4000)
    grounding: bool = Field(default=True, description="look the question up in the caller's memory first")


class AskCitation(BaseModel):
    id: int
    app: str
    kind: str
    title: str
    uri: str


class AskOutput(BaseModel):
    answer: str
    citations: list[AskCitation]
    grounded: bool
    model: str


async def _search(ctx: HandlerContext, app: AppIdentity, body: M.SearchRequest) -> BaseModel:
    from assistant.daemon.handlers import memory as H

    return await H.search(ctx, body, app, None)  # type: ignore[arg-type]


async def _resolve(ctx: HandlerContext, app: AppIdentity, body: M.ResolveRequest) -> BaseModel:
    from assistant.daemon.handlers import memory as H

    return await H.resolve(ctx, body, app, None)  # type: ignore[arg-type]


async def _push(ctx: HandlerContext, app: AppIdentity, body: M.MemoryEvent) -> BaseModel:
    from assistant.daemon.handlers import memory as H

    return await H.push(ctx, body, app, None)  # type: ignore[arg-type]


async def _translate(ctx: HandlerContext, app: AppIdentity, body: T.TranslateRequest) -> BaseModel:
    from assistant.daemon.handlers import translate as H

    return await H.translate(ctx, body, app, None)  # type: ignore[arg-type]


async def _autocomplete(ctx: HandlerContext, app: AppIdentity, body: A.AutocompleteRequest) -> BaseModel:
    from assistant.daemon.handlers import autocomplete as H

    return await H.autocomplete(ctx, body, app, None)  # type: ignore[arg-type]


def _transcribe_sync(ctx: HandlerContext, body: TranscribeInput) -> TranscribeOutput:
    from assistant.api.speech import SAMPLE_RATE
    from assistant.daemon.handlers.speech import decode, has_speech, stt_model
    from runtime.engines.whisper import SttOptions

    path = Path(body.path).expanduser()
    if not path.is_absolute() or not path.is_file():
        raise BadRequest(
            f"{body.path} is not a file", "give the absolute path of an audio file", field="path"
        )
    if path.stat().st_size > MAX_AUDIO_FILE:
        raise BadRequest(
            f"{body.path} is over {MAX_AUDIO_FILE // 2**20} MB", "cut the recording shorter", field="path"
        )  # its length is capped too, by the daemon's max_audio_seconds, while decoding
    rt = ctx.services.runtime
    installed = {m.id: m.roles for m in rt.store.list()}
    model = stt_model("whisper-1", "transcribe", body.language, rt.store.catalog, installed)
    audio = decode(path.read_bytes(), ctx.settings.max_audio_seconds)
    duration = round(len(audio) / SAMPLE_RATE, 3)
    if not has_speech(audio):
        return TranscribeOutput(text="", language=body.language or "en", duration=duration, model=model)
    opts = SttOptions(language=body.language, task="transcribe", window="short")
    r = ctx.services.skill("speech").transcribe(audio, model, opts)
    return TranscribeOutput(text=r.text.strip(), language=r.language, duration=duration, model=model)


async def _transcribe(ctx: HandlerContext, app: AppIdentity, body: TranscribeInput) -> BaseModel:
    return await ctx.to_thread(_transcribe_sync, ctx, body)


def _ask_sync(ctx: HandlerContext, app: AppIdentity, body: AskInput) -> AskOutput:
    from dataclasses import replace

    from runtime.engines.base import ChatMessage
    from skills.chat import ChatOptions

    memory_caller = None
    if body.grounding and app.allows("memory:read"):
        from assistant.daemon.handlers.memory import caller

        memory_caller = caller(ctx.services.skill("memory"), app)
    opts = replace(ChatOptions(), grounding=memory_caller is not None)
    chat = ctx.services.skill("chat")
    a = chat.answer([ChatMessage("user", body.question)], memory_caller, opts)
    cites = [AskCitation(id=c.id, app=c.app, kind=c.kind, title=c.title, uri=c.uri) for c in a.citations]
    return AskOutput(answer=a.text, citations=cites, grounded=bool(a.grounded), model=a.model)


async def _ask(ctx: HandlerContext, app: AppIdentity, body: AskInput) -> BaseModel:
    return await ctx.to_thread(_ask_sync, ctx, app, body)


async def _recent(ctx: HandlerContext, app: AppIdentity) -> BaseModel:
    from assistant.daemon.handlers import memory as H

    return await H.browse(ctx, M.BrowseRequest(limit=20), app, None)  # type: ignore[arg-type]


TOOLS: tuple[McpTool, ...] = (
    McpTool(
        "memory_search",
        "Search the user's memory (files opened, messages, notes, ...) that this app may see.",
        "memory:read",
        M.SearchRequest,
        M.SearchResponse,
        _search,
    ),
    McpTool(
        "memory_resolve",
        "Resolve a reference such as 'the PDF Ana sent' to the memory events it most likely means.",
        "memory:read",
        M.ResolveRequest,
        M.ResolveResponse,
        _resolve,
    ),
    McpTool(
        "memory_push",
        "Record an event in the user's memory, under this app's name.",
        "memory:write",
        M.MemoryEvent,
        M.PushResult,
        _push,
    ),
    McpTool(
        "translate",
        "Translate text on the device (dedicated models first, the chat model as a fallback).",
        "translate",
        T.TranslateRequest,
        T.TranslateResponse,
        _translate,
    ),
    McpTool(
        "transcribe",
        "Transcribe a local audio file (WAV, MP3, OGG, FLAC, WebM) with Whisper, on the device.",
        "stt",
        TranscribeInput,
        TranscribeOutput,
        _transcribe,
    ),
    McpTool(
        "autocomplete",
        "Suggest how the text at the cursor continues (prose or code).",
        "autocomplete",
        A.AutocompleteRequest,
        A.AutocompleteResponse,
        _autocomplete,
    ),
    McpTool(
        "ask",
        "Answer a question with the local model, grounded in the user's memory when this app may read it.",
        "chat",
        AskInput,
        AskOutput,
        _ask,
    ),
)
RESOURCES: tuple[McpResource, ...] = (
    McpResource(
        "assistant://context/recent",
        "recent-context",
        "What the user is doing now: the latest memory events this app may see, newest first.",
        "memory:read",
        _recent,
    ),
)
BY_NAME: dict[str, McpTool] = {t.name: t for t in TOOLS}


def dump(model: BaseModel) -> dict[str, Any]:
    """The structured output of a tool: JSON-ready, as its output schema describes."""
    return json.loads(model.model_dump_json())
