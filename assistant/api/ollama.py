"""Ollama-compatible wire types and endpoints (/api/*), for apps that speak Ollama's API.

Field names follow Ollama's API (docs/api.md): streaming is NDJSON and on by default, `options`
carries sampling (temperature, top_p, top_k, seed, stop, num_predict, num_ctx), `format` is "json"
or a JSON schema, and tool calls carry `arguments` as an object. Model names are the catalog's ids;
a trailing ":latest" is accepted. Refusals keep the daemon's error body ({"error": {...}}).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from assistant.api.base import ANY_APP, Endpoint, Wire
from assistant.api.openai import EMBED_MODEL, MAX_EMBED_INPUTS
from assistant.api.openai_tools import ToolDef

# What the handlers accept, published so the OpenAPI document tells the truth (issue 17): a catalog
# id with an optional ":latest", keep_alive as seconds or a duration, and no images, thinking or
# dimensions (refused, naming the field, until a model can honour them).
MODEL_NAME: JsonDict = {"pattern": "^[a-z0-9][a-z0-9._-]{0,63}(:latest)?$", "examples": ["smollm2-135m"]}
MAYBE_MODEL: JsonDict = {"pattern": "^([a-z0-9][a-z0-9._-]{0,63}(:latest)?)?$", "examples": ["smollm2-135m"]}
EMBED_NAME: JsonDict = {"enum": [EMBED_MODEL, f"{EMBED_MODEL}:latest"]}  # the daemon's one embedder
KEEP_ALIVE: JsonDict = {"pattern": "^-?[0-9]+([.][0-9]+)?(ms|s|m|h)?$"}
NOT_SUPPORTED: JsonDict = {"maxItems": 0}
NO_THINKING: JsonDict = {"enum": [False, "", None]}
MAX_CTX = 4096  # runtime.runtime.DEFAULT_CTX: num_ctx above the loaded context is refused


class Options(Wire):
    temperature: Optional[float] = Field(default=None, ge=0.0, le=2.0)
    top_p: Optional[float] = Field(default=None, gt=0.0, le=1.0)
    top_k: Optional[int] = Field(default=None, ge=1, le=1000)
    repeat_penalty: Optional[float] = Field(default=None, ge=0.0, le=10.0)
    seed: Optional[int] = Field(default=None, ge=-(2**63), le=2**63 - 1)
    stop: Optional[list[str]] = None
    num_predict: Optional[int] = Field(default=None, ge=-2, le=32768)
    """-1: up to the daemon's limit; -2: fill the context (both mean the daemon's max here)"""
    num_ctx: Optional[int] = Field(default=None, ge=1, json_schema_extra={"maximum": MAX_CTX})


class _Generate(Wire):
    model: str = Field(min_length=1, max_length=200, json_schema_extra=MODEL_NAME)
    stream: bool = True
    options: Optional[Options] = None
    format: Union[Literal["", "json"], dict[str, Any], None] = None
    keep_alive: Union[str, float, None] = Field(default=None, json_schema_extra=KEEP_ALIVE)


class ToolCallFunction(BaseModel):
    name: str
    arguments: dict[str, Any]


class ToolCall(BaseModel):
    function: ToolCallFunction


class ChatMessage(Wire):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    images: Optional[list[str]] = Field(default=None, json_schema_extra=NOT_SUPPORTED)
    tool_calls: Optional[list[ToolCall]] = None
    tool_name: Optional[str] = None


class ChatRequest(_Generate):
    messages: list[ChatMessage] = Field(default_factory=list)
    tools: Optional[list[ToolDef]] = Field(default=None, max_length=128)
    think: Union[bool, str, None] = Field(default=None, json_schema_extra=NO_THINKING)


class GenerateRequest(_Generate):
    prompt: str = ""
    suffix: Optional[str] = None
    system: Optional[str] = None
    template: Optional[str] = None
    raw: bool = False
    images: Optional[list[str]] = Field(default=None, json_schema_extra=NOT_SUPPORTED)
    context: Optional[list[int]] = None
    think: Union[bool, str, None] = Field(default=None, json_schema_extra=NO_THINKING)


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


# model or name (older clients) must name one; the handler refuses neither, naming `model`
ONE_NAME: JsonDict = {
    "anyOf": [{"required": [f], "properties": {f: {"minLength": 1}}} for f in ("model", "name")]
}


class ShowRequest(Wire):
    model_config = ConfigDict(json_schema_extra=ONE_NAME)

    model: str = Field(default="", max_length=200, json_schema_extra=MAYBE_MODEL)
    name: str = Field(default="", max_length=200, json_schema_extra=MAYBE_MODEL)
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
    model: str = Field(min_length=1, max_length=200, json_schema_extra=EMBED_NAME)
    input: Union[str, Annotated[list[str], Field(min_length=1, max_length=MAX_EMBED_INPUTS)]]
    truncate: bool = True
    options: Optional[Options] = None
    keep_alive: Union[str, float, None] = Field(default=None, json_schema_extra=KEEP_ALIVE)
    dimensions: Optional[int] = Field(default=None, json_schema_extra={"enum": [None]})


class EmbedResponse(BaseModel):
    model: str
    embeddings: list[list[float]]
    total_duration: int
    load_duration: int
    prompt_eval_count: int


class Version(BaseModel):
    version: str


class PullRequest(Wire):
    model_config = ConfigDict(json_schema_extra=ONE_NAME)

    model: str = Field(default="", max_length=200, json_schema_extra=MAYBE_MODEL)
    name: str = Field(default="", max_length=200, json_schema_extra=MAYBE_MODEL)
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
    stream_media_type="application/x-ndjson",
    summary="Ollama chat: NDJSON stream by default, or one object with stream: false; tools and format.",
)
GENERATE = Endpoint(
    "ollama.generate",
    "POST",
    "/api/generate",
    "chat",
    GenerateRequest,
    GenerateResponse,
    stream=GenerateResponse,
    stream_media_type="application/x-ndjson",
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
    stream_media_type="application/x-ndjson",
    summary="Install a catalog model into the verified store (sha256-checked); no registry pulls.",
)

ENDPOINTS: tuple[Endpoint, ...] = (CHAT, GENERATE, TAGS, SHOW, PS, EMBED, VERSION, PULL)
