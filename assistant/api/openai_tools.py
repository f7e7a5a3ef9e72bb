"""OpenAI tool-calling wire types: tool definitions, tool_choice, and the calls in replies and deltas.

Used by assistant.api.openai (request and reply fields) and the Ollama API; no endpoints here.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, Field

from assistant.api.base import Wire


class FunctionDef(Wire):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: Optional[bool] = None


class ToolDef(Wire):
    type: Literal["function"] = "function"
    function: FunctionDef


class NamedFunction(Wire):
    name: str = Field(min_length=1, max_length=64)


class NamedToolChoice(Wire):
    type: Literal["function"] = "function"
    function: NamedFunction


ToolChoice = Union[Literal["auto", "none", "required"], NamedToolChoice]


class FunctionCall(BaseModel):
    name: str
    arguments: str
    """A JSON object's text, valid for the function's parameters schema."""


class ToolCallOut(BaseModel):
    """A call in a request's assistant message or in a reply."""

    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCall


class ToolCallDelta(BaseModel):
    """A streamed call: sent whole, once its arguments are complete."""

    index: int
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


def choice_name(choice: Optional[ToolChoice]) -> str:
    """Return "auto", "none", "required", or the named function's name."""
    if choice is None:
        return "auto"
    return choice if isinstance(choice, str) else choice.function.name
