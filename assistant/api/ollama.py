"""Ollama-compatible wire types and endpoints (/api/*), for apps that speak Ollama's API.

Field names follow Ollama's API (docs/api.md): streaming is NDJSON and on by default, `options`
carries sampling (temperature, top_p, top_k, seed, stop, num_predict, num_ctx), `format` is "json"
or a JSON schema, and tool calls carry `arguments` as an object. Model names are the catalog's ids;
a trailing ":latest" is accepted. Refusals keep the daemon's error body ({"error": {...}}).
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, Field

from assistant.api.base import ANY_APP, Endpoint, Wire
from assistant.api.openai_tools import ToolDef


class Options(Wire):
    temperature: Optional[float] = Field(default=None, ge=0.0, le=2.0)
    top_p: Optional[float] = Field(default=None, gt=0.0, le=1.0)
    top_k: Optional[int] = Field(default=None, ge=1, le=1000)
    repeat_penalty: Optional[float] = Field(default=None, ge=0.0, le=10.0)
    seed: Optional[int] = None
    stop: Optional[list[str]] = None
    num_predict: Optional[int] = Field(default=None, ge=-2, le=32768)
    """-1: up to the daemon's limit; -2: fill the context (both mean the daemon's max here)"""
    num_ctx: Optional[int] = Field(default=None, ge=1)


class _Generate(Wire):
    model: str = Field(min_length=1, max_length=200)
    stream: bool = True
    options: Optional[Options] = None
    format: Union[Literal["", "json"], dict[str, Any], None] = None
    keep_alive: Union[str, float, None] = None


class ToolCallFunction(BaseModel):
    name: str
    arguments: dict[str, Any]


class ToolCall(BaseModel):
    function: ToolCallFunction


class ChatMessage(Wire):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    images: Optional[list[str]] = None
    tool_calls: Optional[list[ToolCall]] = None
    tool_name: Optional[str] = None


class ChatRequest(_Generate):
    messages: list[ChatMessage] = Field(default_factory=list)
    tools: Optional[list[ToolDef]] = Field(default=None, max_length=128)
    think: Union[bool, str, None] = None


class GenerateRequest(_Generate):
    prompt: str = ""
    suffix: Optional[str] = None
    system: Optional[str] = None
    template: Optional[str] = None
    raw: bool = False
    images: Optional[list[str]] = None
    context: Optional[list[int]] = None
    think: Union[bool, str, None] = None


class _Done(BaseModel):
    model: str
    created_at: str
    done: bool
    done_reason: Optional[str] = None
    total_duration: Optional[int] = None
    load_duration: Optional[int] = None
    prompt_eval_count: Optional[int] = None
    prompt_eval_duration: Optional[int] = None
    eval_count: Optional[int] = None
    eval_duration: Optional[int] = None


class ReplyMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str = ""
    tool_calls: Optional[list[ToolCall]] = None


class ChatResponse(_Done):
    """A whole reply (stream: false), or one NDJSON line of a streamed one."""

    message: ReplyMessage


class GenerateResponse(_Done):
    response: str


class ModelDetails(BaseModel):
    parent_model: str = ""
    format: str
    family: str = ""
    families: Optional[list[str]] = None
    parameter_size: str = ""
    quantization_level: str = ""


class TagModel(BaseModel):
    name: str
    model: str
    modified_at: str
    size: int
    digest: str
    details: ModelDetails


class Tags(BaseModel):
    models: list[TagModel]


class ShowRequest(Wire):
    model: str = Field(default="", max_length=200)
    name: str = Field(default="", max_length=200)
    """older clients send `name`"""
    verbose: bool = False


class ShowResponse(BaseModel):
    modelfile: str
    parameters: str
    template: str
    license: str
    details: ModelDetails
    model_info: dict[str, Any]
    capabilities: list[str]
    modified_at: str


class RunningModel(BaseModel):
    name: str
    model: str
    size: int
    digest: str
    details: ModelDetails
    expires_at: str
    size_vram: int
    context_length: Optional[int] = None


class Running(BaseModel):
    models: list[RunningModel]


class EmbedRequest(Wire):
    model: str = Field(min_length=1, max_length=200)
    input: Union[str, list[str]]
    truncate: bool = True
    options: Optional[Options] = None
    keep_alive: Union[str, float, None] = None
    dimensions: Optional[int] = None


class EmbedResponse(BaseModel):
    model: str
    embeddings: list[list[float]]
    total_duration: int
    load_duration: int
    prompt_eval_count: int


class Version(BaseModel):
    version: str


class PullRequest(Wire):
    model: str = Field(default="", max_length=200)
    name: str = Field(default="", max_length=200)
    insecure: bool = False
    stream: bool = True


class PullStatus(BaseModel):
    status: str
    digest: Optional[str] = None
    total: Optional[int] = None
    completed: Optional[int] = None


CHAT = Endpoint(
    "ollama.chat",
    "POST",
    "/api/chat",
    "chat",
    ChatRequest,
    ChatResponse,
    stream=ChatResponse,
    summary="Ollama chat: NDJSON stream by default, or one object with stream: false; tools and format.",
    from_text=lambda text: {"messages": [{"role": "user", "content": text}], "stream": False, "model": ""},
)
GENERATE = Endpoint(
    "ollama.generate",
    "POST",
    "/api/generate",
    "chat",
    GenerateRequest,
    GenerateResponse,
    stream=GenerateResponse,
    summary="Ollama generate (prompt completion, with the chat template unless raw).",
)
TAGS = Endpoint("ollama.tags", "GET", "/api/tags", ANY_APP, response=Tags, summary="Installed text models.")
SHOW = Endpoint(
    "ollama.show", "POST", "/api/show", ANY_APP, ShowRequest, ShowResponse, summary="One model's details."
)
PS = Endpoint(
    "ollama.ps", "GET", "/api/ps", ANY_APP, response=Running, summary="Models loaded in memory now."
)
EMBED = Endpoint(
    "ollama.embed",
    "POST",
    "/api/embed",
    "chat",
    EmbedRequest,
    EmbedResponse,
    summary="Embeddings from the memory skill's embedder.",
)
VERSION = Endpoint(
    "ollama.version", "GET", "/api/version", ANY_APP, response=Version, summary="The daemon's version."
)
PULL = Endpoint(
    "ollama.pull",
    "POST",
    "/api/pull",
    "admin",
    PullRequest,
    PullStatus,
    stream=PullStatus,
    summary="Install a catalog model into the verified store (sha256-checked); no registry pulls.",
)

ENDPOINTS: tuple[Endpoint, ...] = (CHAT, GENERATE, TAGS, SHOW, PS, EMBED, VERSION, PULL)
