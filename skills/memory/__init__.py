"""Cross-app context memory: a local, encrypted SQLite store that apps feed and the assistant recalls.

`create(services)` builds the MemorySkill the daemon, CLI and TUI share. Modules: model (types and
errors), ingest + redact (validation and redaction before storing), keys + store (SQLCipher database),
embed + vectors (MiniLM embeddings, the vector index and its background worker), search (hybrid
recall), resolve (reference resolution), skill (scopes and the public API).
"""

from __future__ import annotations

from skills.host import SkillHost
from skills.memory.model import (
    BrowseOptions,
    Caller,
    Candidate,
    CapturePaused,
    Entities,
    Event,
    EventIn,
    Filters,
    InvalidEvent,
    MemorySkillError,
    PushResult,
    Retention,
    ScopeDenied,
    SearchHit,
    SearchOptions,
    StoreError,
)
from skills.memory.skill import ForgetOptions, MemoryOptions, MemorySkill
from skills.memory.store import StoreOptions


def create(services: SkillHost, background: bool = True) -> MemorySkill:
    """Return the MemorySkill for services.config (database at data_dir/memory.db)."""
    from skills.memory.embed import runtime_embedder

    options = MemoryOptions(StoreOptions(services.config.data_dir / "memory.db"), background=background)
    return MemorySkill(options, **runtime_embedder(services))


__all__ = [
    "BrowseOptions",
    "Caller",
    "Candidate",
    "CapturePaused",
    "Entities",
    "Event",
    "EventIn",
    "Filters",
    "ForgetOptions",
    "InvalidEvent",
    "MemoryOptions",
    "MemorySkill",
    "MemorySkillError",
    "PushResult",
    "Retention",
    "ScopeDenied",
    "SearchHit",
    "SearchOptions",
    "StoreError",
    "StoreOptions",
    "create",
]
