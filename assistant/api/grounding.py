"""Grounded chat on /v1/chat/completions: an extension field, usable from the official `openai`
client through `extra_body`.

Request:  {"messages": [...], "grounding": {"memory": true, "max_records": 3}}
Response: the usual chat completion plus "grounding": {"used": true, "citations": [...], "note": null}
          (streamed: on the chunk that carries finish_reason).

The memory is read with the calling app's own visibility: its own events, or every app's when the
user granted it cross-app read. An app without the memory:read scope gets a plain answer, and the
response says so in grounding.note.
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field

from assistant.api.base import Wire


class Grounding(Wire):
    """What the caller asks for: answer from its visible memory, with at most max_records records."""

    memory: bool = True
    max_records: int = Field(default=3, ge=1, le=8)


class CitationOut(BaseModel):
    """A memory event the answer rests on; the text cites it as "[n]"."""

    n: int
    id: int
    app: str
    kind: str
    title: str
    uri: str = ""
    created: float = 0.0


class GroundingResult(BaseModel):
    """Whether memory was used, the records cited, and why not when it was not."""

    used: bool
    citations: list[CitationOut] = []
    note: Optional[str] = None
    repaired: Optional[str] = None  # "retried" / "from_record" when a bare citation was replaced


__all__ = ["CitationOut", "Grounding", "GroundingResult"]
