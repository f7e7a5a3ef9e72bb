"""The connector seam: a Connector reads what the system already records (open files, browser history,
git reflogs, ...) and returns events in the same JSON shape apps push, plus the cursor to resume from.

Connectors never write to memory themselves: the runner (runner.py) pushes their events through
MemorySkill.push_batch, the path every app's push takes (validation, redaction, idempotency keys),
under the connector's own app name, and stores the cursor in the same transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, runtime_checkable

from skills.memory.model import MemorySkillError

Cursor = Mapping[str, Any]  # JSON-serialisable; each connector defines its own keys


class ConnectorError(MemorySkillError):
    """A connector cannot run (no display, a bad setting, an excluded path asked for)."""

    code = "connector_error"


class Unavailable(ConnectorError):
    """The connector cannot run on this machine now; message says why (e.g. no X11 display)."""

    code = "connector_unavailable"


@dataclass(frozen=True)
class Item:
    """One event to push: app is the identity it is stored under (the connector's, or a program's)."""

    app: str
    event: Mapping[str, Any]


@dataclass(frozen=True)
class Reading:
    """What one read found: events to push and the cursor to store once they are stored."""

    items: tuple[Item, ...]
    cursor: Cursor
    note: str = ""  # e.g. "nothing changed"


@dataclass(frozen=True)
class ConnectorSettings:
    """The user's settings for one connector (persisted in the config dir).

    paths: folders or repositories the user lists (calendar and contacts folders, git repos,
        browser profiles). interval: seconds between runs in the daemon (None: the connector's default).
    """

    enabled: bool = False
    paths: tuple[str, ...] = ()
    interval: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "paths": list(self.paths), "interval": self.interval}


@dataclass(frozen=True)
class ConnectorContext:
    """Where a connector looks: the user's home, its settings, the assistant's own dirs (never read), now."""

    home: Path
    settings: ConnectorSettings
    own_dirs: tuple[Path, ...] = ()
    now: float = 0.0
    uid: int = field(default_factory=os.getuid)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@runtime_checkable
class Connector(Protocol):
    """A plugin that turns one system record into memory events.

    name: the CLI name ("browser"). app: the app identity events are stored under by default
    ("connector:browser"). interval: default seconds between runs. description: one line for `list`.
    """

    name: str
    app: str
    interval: float
    description: str

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        """Return the events new since cursor and the cursor after them; Unavailable if it cannot run."""
        ...


class FakeConnector:
    """A connector over a list of events, for logic tests of the runner and scheduler."""

    name = "fake"
    app = "connector:fake"
    interval = 1.0
    description = "events from a list (tests)"

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.reads = 0

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        self.reads += 1
        at = int(cursor.get("at", 0))
        new = self.events[at:]
        return Reading(tuple(Item(self.app, e) for e in new), {"at": at + len(new)})


def idem(*parts: object) -> str:
    """Return a stable idempotency key (at most 200 chars) from parts."""
    import hashlib

    raw = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:40]


__all__ = [
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "ConnectorSettings",
    "Cursor",
    "FakeConnector",
    "Item",
    "Reading",
    "Unavailable",
    "idem",
]
