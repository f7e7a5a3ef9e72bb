"""Run a connector once: read from its cursor, drop excluded paths, push through MemorySkill.push_batch
(the apps' path: validation, redaction, idempotency keys) under the connector's app identity, and store
the new cursor and a status record in the same transaction, so a crash never imports twice or loses one.

Cursor and status live in the memory database's meta table, encrypted like the events (the status
names what was read last). While capture is paused, connectors do not even read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skills.memory.connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorError,
    ConnectorSettings,
    Item,
)
from skills.memory.connectors.privacy import excluded
from skills.memory.model import Caller, CapturePaused

if TYPE_CHECKING:
    from skills.memory.skill import MemorySkill

WRITE = frozenset({"memory:write"})
BATCH = 500


@dataclass(frozen=True)
class RunReport:
    """What one run did: read (items found), stored (new), duplicates, dropped (excluded paths)."""

    name: str
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    dropped: int = 0
    last: str = ""
    note: str = ""
    error: str | None = None
    paused: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "dropped": self.dropped,
            "last": self.last,
            "note": self.note,
            "error": self.error,
            "paused": self.paused,
            "seconds": round(self.seconds, 4),
        }


def cursor_key(name: str) -> str:
    return f"connector.{name}.cursor"


def status_key(name: str) -> str:
    return f"connector.{name}.status"


def load_cursor(skill: "MemorySkill", name: str) -> dict[str, Any]:
    raw = skill.store.meta(cursor_key(name), "")
    return dict(json.loads(raw)) if raw else {}


def load_status(skill: "MemorySkill", name: str) -> dict[str, Any]:
    """Return the last run's status record ({} if it never ran)."""
    raw = skill.store.meta(status_key(name), "")
    return dict(json.loads(raw)) if raw else {}


def _item_paths(item: Item) -> list[str]:
    ev = item.event
    paths = [str(ev.get("uri", ""))]
    ents = ev.get("entities") or {}
    paths += [str(f) for f in ents.get("files", ())]
    return [p for p in paths if p.startswith(("/", "file://", "~"))]


def _allowed(item: Item, ctx: ConnectorContext) -> bool:
    for p in _item_paths(item):
        if excluded(p, ctx.home):
            return False
        plain = p[7:] if p.startswith("file://") else p
        if any(plain == str(d) or plain.startswith(str(d) + "/") for d in ctx.own_dirs):
            return False  # the assistant's own database, models and logs
    return True


def run_once(skill: "MemorySkill", connector: Connector, ctx: ConnectorContext) -> RunReport:
    """Run connector once against skill (a MemorySkill); return what it did. Never raises for a
    connector failure: the error is in the report and the stored status."""
    t0 = time.perf_counter()
    name = connector.name
    ctx = replace(ctx, now=ctx.now or time.time())
    prev = load_status(skill, name)
    if skill.paused():
        report = RunReport(name, paused=True, note="capture is paused; nothing read")
        _save_status(skill, name, report, prev, ctx.now)
        return report
    try:
        reading = connector.read(ctx, load_cursor(skill, name))
    except ConnectorError as exc:
        report = RunReport(name, error=exc.message + (f"; {exc.fix}" if exc.fix else ""))
        _save_status(skill, name, report, prev, ctx.now)
        return report
    except OSError as exc:  # a file vanished or became unreadable between listing and reading
        report = RunReport(name, error=f"{type(exc).__name__}: {exc}")
        _save_status(skill, name, report, prev, ctx.now)
        return report
    items = [i for i in reading.items if _allowed(i, ctx)]
    dropped = len(reading.items) - len(items)
    stored = dups = 0
    by_app: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        by_app.setdefault(it.app, []).append(dict(it.event))
    last = ""
    if items:
        ev = items[-1].event
        last = str(ev.get("title") or ev.get("uri") or "")[:200]
    try:
        with skill.store.tx():  # the events and the cursor commit together, or neither does
            for app, events in by_app.items():
                caller = Caller(app, WRITE)
                for s in range(0, len(events), BATCH):
                    for r in skill.push_batch(caller, events[s : s + BATCH]):
                        if r.duplicate:
                            dups += 1
                        else:
                            stored += 1
            skill.store.set_meta(cursor_key(name), json.dumps(dict(reading.cursor)))
            prev = {**prev, "apps": sorted(set(prev.get("apps", ())) | set(by_app))}
            report = RunReport(
                name,
                len(reading.items),
                stored,
                dups,
                dropped,
                last,
                reading.note,
                seconds=time.perf_counter() - t0,
            )
            _save_status(skill, name, report, prev, ctx.now)
    except CapturePaused:
        report = RunReport(name, paused=True, note="capture is paused; nothing stored")
        _save_status(skill, name, report, prev, ctx.now)
    return report


def _save_status(
    skill: "MemorySkill", name: str, report: RunReport, prev: dict[str, Any], now: float
) -> None:
    rec = {
        **report.to_dict(),
        "last_run": now,
        "runs": int(prev.get("runs", 0)) + 1,
        "total": int(prev.get("total", 0)) + report.stored,
        # what it read last stays visible after runs that found nothing new
        "last": report.last or prev.get("last", ""),
        "last_found": now if report.stored else prev.get("last_found"),
        "apps": list(prev.get("apps", ())),  # every app its events were stored under, for forget
    }
    skill.store.set_meta(status_key(name), json.dumps(rec))


def forget(skill: "MemorySkill", connector: Connector, caller: Caller) -> int:
    """Forget every event the connector stored (under its own app and the programs' it recorded),
    and reset its cursor, so it starts over only if enabled again; return how many were forgotten."""
    from skills.memory.skill import ForgetOptions

    name = connector.name
    apps = {connector.app, *load_status(skill, name).get("apps", ())}
    n = sum(skill.forget(caller, ForgetOptions(app=a)) for a in sorted(apps))
    skill.store.set_meta(cursor_key(name), "")
    skill.store.set_meta(status_key(name), "")
    return n


def make_context(config: Any, settings: ConnectorSettings, home: Path | None = None) -> ConnectorContext:
    """Return the context for a run under config (a runtime Config): the assistant's dirs are never read."""
    own = tuple(
        Path(d).resolve() for d in (config.data_dir, config.config_dir, config.runtime_dir, config.models_dir)
    )
    return ConnectorContext(home=home or Path.home(), settings=settings, own_dirs=own, now=time.time())


__all__ = ["RunReport", "forget", "load_cursor", "load_status", "make_context", "run_once"]
