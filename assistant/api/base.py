"""Endpoint declarations, scopes and the error body: the pieces every wire module shares."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

# Scopes an app can hold. "admin" implies every other scope.
SCOPES: tuple[str, ...] = (
    "chat",
    "autocomplete",
    "translate",
    "stt",
    "tts",
    "memory:read",
    "memory:write",
    "admin",
)
ANY_APP = ""
"""Pseudo-scope: any registered app may call the endpoint, whatever its scopes."""

Method = Literal["GET", "POST", "PUT", "DELETE"]


@dataclass(frozen=True)
class Endpoint:
    """One HTTP endpoint, declared once and used by both the daemon and the client.

    name: short unique name; `assistant call NAME` and `client.call(...)` use it.
    scope: what the calling app must hold (ANY_APP: any registered app).
    request: pydantic model of the JSON body, or None for a body-less GET.
    response: pydantic model of the JSON answer, or None for a non-JSON answer (e.g. /metrics text).
    stream: pydantic model of one SSE event when the request asks for `"stream": true`.
    open_on_unix: served without a token on the Unix socket (only /health).
    from_text: builds a request body from one free-text argument, for `assistant call NAME TEXT`.
    """

    name: str
    method: Method
    path: str
    scope: str
    request: Optional[type[BaseModel]] = None
    response: Optional[type[BaseModel]] = None
    stream: Optional[type[BaseModel]] = None
    summary: str = ""
    open_on_unix: bool = False
    from_text: Optional[Callable[[str], dict[str, Any]]] = None
    stream_media_type: str = "text/event-stream"
    """How `stream` answers travel: SSE events, or "application/x-ndjson" lines (Ollama's API)."""
    request_media_type: str = "application/json"
    """How the body is published in the OpenAPI document ("multipart/form-data" for audio uploads)."""
    media_types: tuple[str, ...] = ()
    """Content types of a 200 answer other than the JSON response model: "text/plain" for /metrics,
    "audio/wav" for speech. Published in the OpenAPI document, so clients and fuzzers know them."""

    def __post_init__(self) -> None:
        if self.scope != ANY_APP and self.scope not in SCOPES:
            raise ValueError(f"endpoint {self.name}: unknown scope {self.scope!r}")


_SURROGATE = re.compile("[\ud800-\udfff]")
TEXT_ERROR = "text_surrogate"
"""The pydantic error type for a string that is not Unicode text; the daemon answers 400 for it."""


def refuse_surrogates(value: Any) -> Any:
    """Return value, or raise if a string in it (keys included, at any depth) holds a lone surrogate.

    JSON may spell one ("\\ud800"); Python keeps it in a str, and it fails only later, deep in a
    skill, when the text is encoded to UTF-8 for SQLite, a tokenizer or a socket."""
    stack = [value]  # a loop, not recursion: a JSON body may nest thousands deep
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                raise PydanticCustomError(
                    TEXT_ERROR,
                    "holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; send valid Unicode",
                )
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return value


class Wire(BaseModel):
    """Base for request bodies: unknown fields are ignored, as OpenAI clients send extras.
    Every string field refuses lone surrogates, naming the field."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_unicode(cls, value: Any) -> Any:
        return refuse_surrogates(value)


# Refusals every endpoint may answer, each with an ErrorBody; openapi_responses() adds the rest.
REFUSALS: dict[int, str] = {
    400: "malformed input; `field` names it",
    401: "no token, or an unknown or revoked one",
    403: "the token lacks the scope; or Host/Origin refused",
    404: "no such model (or other named resource); `field` names it",
    413: "body too large",
    422: "invalid field; `field` names it",
    423: "memory capture is paused by the user",
    429: "queue full",
    501: "the skill or engine this needs is not installed",
    503: "model busy past the queue timeout",
    504: "the request ran past the daemon's time limit",
}
# One server-sent event, as every streamed answer sends them: `data: <JSON chunk>` ... `data: [DONE]`.
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}},
}


def openapi_responses(ep: "Endpoint", websocket: bool = False) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI `responses` of ep besides its JSON response model: every refusal with the
    ErrorBody schema, the SSE stream when ep streams, other 200 media types, and 426 when the path is
    a WebSocket (a plain GET is refused with Upgrade Required)."""
    out: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": text} for status, text in REFUSALS.items()
    }
    content: dict[str, Any] = {}
    if ep.stream is not None and ep.stream_media_type == "text/event-stream":
        content["text/event-stream"] = {"itemSchema": SSE_EVENT}
    elif ep.stream is not None:  # one JSON object a line, each a `stream` model
        content[ep.stream_media_type] = {"schema": {"type": "string"}}
    for media_type in ep.media_types:
        binary = not media_type.startswith("text/")
        content[media_type] = {"schema": {"type": "string", **({"format": "binary"} if binary else {})}}
    if content:
        out[200] = {"description": "OK", "content": content}
    if websocket:
        out[426] = {"model": ErrorBody, "description": "a WebSocket: connect with Upgrade: websocket"}
    return out


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: Optional[str] = None
    fix: Optional[str] = None


class ErrorBody(BaseModel):
    """Every refusal has this body: {"error": {"code", "message", "field"?, "fix"?}}."""

    error: ErrorDetail
