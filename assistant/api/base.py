"""Endpoint declarations, scopes and the error body: the pieces every wire module shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional

from pydantic import BaseModel, ConfigDict

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

    def __post_init__(self) -> None:
        if self.scope != ANY_APP and self.scope not in SCOPES:
            raise ValueError(f"endpoint {self.name}: unknown scope {self.scope!r}")


class Wire(BaseModel):
    """Base for request bodies: unknown fields are ignored, as OpenAI clients send extras."""

    model_config = ConfigDict(extra="ignore")


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: Optional[str] = None
    fix: Optional[str] = None


class ErrorBody(BaseModel):
    """Every refusal has this body: {"error": {"code", "message", "field"?, "fix"?}}."""

    error: ErrorDetail
