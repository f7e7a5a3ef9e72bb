"""OpenAI-compatible wire types and endpoints (/v1/*): the subset the runtime can honour.

Fields OpenAI clients send that the runtime ignores (user, logprobs=false, presence_penalty...)
are accepted and dropped; fields it cannot honour (n > 1) are refused with the field named.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from assistant.api.base import ANY_APP, Endpoint, Wire
from assistant.api.grounding import Grounding, GroundingResult
from assistant.api.openai_tools import ToolCallDelta, ToolCallOut, ToolChoice, ToolDef


class ContentPart(Wire):
    type: str
    text: Optional[str] = None


# A model id as the store names them (runtime/catalog.py ID_RE); published so clients know, checked by
# the runtime, whose refusal names the field (404 for an id that is not installed).
MODEL_ID: JsonDict = {"pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}


class Message(Wire):
    """A tool message names the call it answers (tool_call_id); the handler refuses one without."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"role": {"const": "tool"}}, "required": ["role"]},
            "then": {"required": ["tool_call_id"], "properties": {"tool_call_id": {"type": "string"}}},
        }
    )

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: Union[str, list[ContentPart], None] = None
    tool_calls: Optional[list[ToolCallOut]] = None
    tool_call_id: Optional[str] = None

    def text(self) -> str:
        """Return the message's text, joining text parts."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.type == "text")


class JsonSchemaFormat(Wire):
    """json_schema needs its schema (the handler refuses one without, naming the field)."""

    model_config = ConfigDict(json_schema_extra={"required": ["schema"]})

    name: str = "response"
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: Optional[bool] = None


class ResponseFormat(Wire):
    """type json_schema needs json_schema (the handler refuses one without, naming the field)."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"type": {"const": "json_schema"}}, "required": ["type"]},
            "then": {"required": ["json_schema"], "properties": {"json_schema": {"type": "object"}}},
        }
    )

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: Optional[JsonSchemaFormat] = None


class StreamOptions(Wire):
    include_usage: bool = False


class _Sampling(Wire):
    model: Optional[str] = Field(default=None, min_length=1, max_length=200, json_schema_extra=MODEL_ID)
    max_tokens: Optional[int] = Field(default=None, ge=1, le=32768)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    stop: Union[str, list[str], None] = None
    seed: Optional[int] = Field(default=None, ge=-(2**63), le=2**63 - 1)  # OpenAI's int64
    n: int = Field(default=1, ge=1, le=1)
    stream: bool = False
    stream_options: Optional[StreamOptions] = None

    def stop_list(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(s for s in self.stop if s)


class ChatRequest(_Sampling):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: Optional[int] = Field(default=None, ge=1, le=32768)
    response_format: Optional[ResponseFormat] = None
    tools: Optional[list[ToolDef]] = Field(default=None, max_length=128)
    tool_choice: Optional[ToolChoice] = None
    parallel_tool_calls: bool = True
    grounding: Optional[Grounding] = None  # extension: answer from memory (assistant/api/grounding.py)


class CompletionRequest(_Sampling):
    prompt: Union[str, list[str]]
    echo: bool = False


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: Optional[str]
    tool_calls: Optional[list[ToolCallOut]] = None


class ChatChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    grounding: Optional[GroundingResult] = None


class Delta(BaseModel):
    role: Optional[str] = None
    content: Optional[str] = None
    tool_calls: Optional[list[ToolCallDelta]] = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Optional[str] = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Optional[Usage] = None
    grounding: Optional[GroundingResult] = None


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    finish_reason: Optional[str] = None
    logprobs: None = None


class TextCompletion(BaseModel):
    """A whole completion, or one streamed piece of it (same shape, as in OpenAI's API)."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Optional[Usage] = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "assistant"
    installed: bool = False
    roles: list[str] = []


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


EMBED_MODEL = "minilm-l6-int8"  # the memory skill's one embedder (skills/memory/embed.py MODEL_ID)
MAX_EMBED_INPUTS = 256


class EmbeddingRequest(Wire):
    """model may only name the daemon's embedder (another id is refused, naming the field)."""

    model: Optional[str] = Field(
        default=None, min_length=1, max_length=200, json_schema_extra={"enum": [EMBED_MODEL, None]}
    )
    input: Union[str, Annotated[list[str], Field(min_length=1, max_length=MAX_EMBED_INPUTS)]]
    encoding_format: Literal["float", "base64"] = "float"
    """base64: little-endian float32 bytes, what the official client asks for by default"""

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: Union[list[float], str]


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage


def _chat_from_text(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "stream": True}


MODELS = Endpoint(
    "models",
    "GET",
    "/v1/models",
    ANY_APP,
    response=ModelList,
    summary="Models in the catalog and which are installed.",
)
CHAT = Endpoint(
    "chat",
    "POST",
    "/v1/chat/completions",
    "chat",
    ChatRequest,
    ChatCompletion,
    stream=ChatCompletionChunk,
    summary="OpenAI chat completions, streaming over SSE or not.",
    from_text=_chat_from_text,
)
COMPLETIONS = Endpoint(
    "completions",
    "POST",
    "/v1/completions",
    "chat",
    CompletionRequest,
    TextCompletion,
    stream=TextCompletion,
    summary="OpenAI text completions.",
    from_text=lambda text: {"prompt": text, "stream": True},
)
EMBEDDINGS = Endpoint(
    "embeddings",
    "POST",
    "/v1/embeddings",
    "chat",
    EmbeddingRequest,
    EmbeddingList,
    summary="OpenAI embeddings, from the memory skill's embedder.",
    from_text=lambda text: {"input": text},
)

ENDPOINTS: tuple[Endpoint, ...] = (MODELS, CHAT, COMPLETIONS, EMBEDDINGS)
