"""Wire types and endpoints of the autocomplete skill: one call per keystroke, and feedback."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field

from assistant.api.base import Endpoint, Wire


class AutocompleteRequest(Wire):
    """One keystroke. `session` names the document within the calling app (its KV state)."""

    session: str = "default"
    prefix: str
    suffix: str = ""
    kind: Literal["prose", "code"] = "prose"
    budget_ms: Optional[float] = Field(default=None, ge=0, le=60000)
    max_suggestions: int = Field(default=3, ge=1, le=10)
    sensitive: bool = False


class AutocompleteSuggestion(BaseModel):
    text: str
    source: str
    score: float


class AutocompleteResponse(BaseModel):
    suggestions: list[AutocompleteSuggestion]
    partial: bool
    cancelled: bool
    model_called: bool
    model: Optional[str] = None
    prompt_tokens: int = 0
    cached_tokens: int = 0
    evaluated_prompt_tokens: int = 0
    latency_ms: float


class AutocompleteFeedback(Wire):
    """The user accepted (or rejected) `text` shown after `prefix`; accepted text feeds learning."""

    session: str = "default"
    prefix: str
    text: str
    accepted: bool = True
    sensitive: bool = False


class AutocompleteFeedbackResponse(BaseModel):
    learned: int
    skipped_reason: Optional[str] = None


AUTOCOMPLETE = Endpoint(
    "autocomplete",
    "POST",
    "/v1/skills/autocomplete",
    "autocomplete",
    AutocompleteRequest,
    AutocompleteResponse,
    summary="Suggest how the text at the cursor continues (prose or code FIM), within a latency budget.",
    from_text=lambda text: {"prefix": text},
)
AUTOCOMPLETE_FEEDBACK = Endpoint(
    "autocomplete_feedback",
    "POST",
    "/v1/skills/autocomplete/feedback",
    "autocomplete",
    AutocompleteFeedback,
    AutocompleteFeedbackResponse,
    summary="Report an accepted or rejected suggestion; accepted ones teach the on-device phrase model.",
)
ENDPOINTS = (AUTOCOMPLETE, AUTOCOMPLETE_FEEDBACK)
