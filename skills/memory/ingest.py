"""Validation and redaction of pushed events: turns an EventIn into the row the store writes."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from skills.memory.model import (
    ENTITY_TYPES,
    KINDS,
    MAX_FIELD,
    MAX_TEXT,
    SENSITIVITY,
    EventIn,
    InvalidEvent,
    Retention,
)
from skills.memory.redact import Redactor

_KIND_OK = frozenset(KINDS)


@dataclass(frozen=True)
class Row:
    """A validated, redacted event ready to insert (id assigned by the store)."""

    app: str
    kind: str
    title: str
    body: str
    uri: str
    entities_json: str
    entities_text: str
    sensitivity: str
    created: float
    expires: float
    idem: str | None
    redactions: int


def prepare(ev: EventIn, app: str, now: float, retention: Retention, redactor: Redactor) -> Row:
    """Return the row to store for ev pushed by app; InvalidEvent names the first bad field."""
    if not isinstance(ev, EventIn):
        raise InvalidEvent("push takes EventIn objects", "build events with EventIn(kind=..., ...) or from_dict")
    kind = ev.kind
    if not isinstance(kind, str) or not kind:
        raise InvalidEvent("event has no kind", f"set kind to one of {', '.join(KINDS)} (or a custom x-name)")
    # Custom kinds are allowed with an "x-" prefix so typos in the built-in ones still fail loudly.
    if kind not in _KIND_OK and not (kind.startswith("x-") and 2 < len(kind) <= 64 and kind[2:].replace("_", "").isalnum()):
        raise InvalidEvent(f"unknown event kind {kind!r}", f"use one of {', '.join(KINDS)}, or x-<name> for your own")
    for name in ("title", "body", "uri"):
        value = getattr(ev, name)
        if not isinstance(value, str):
            raise InvalidEvent(f"event field {name} must be a string, got {type(value).__name__}",
                               f"send {name} as text")
        limit = MAX_TEXT if name == "body" else MAX_FIELD
        if len(value) > limit:
            raise InvalidEvent(f"event field {name} is {len(value)} characters, over the limit of {limit}",
                               f"send a shorter {name} (a summary, not the whole document)")
    if not (ev.title or ev.body or ev.uri):
        raise InvalidEvent("event has no title, body or uri", "send at least one of them")
    if ev.sensitivity not in SENSITIVITY:
        raise InvalidEvent(f"unknown sensitivity {ev.sensitivity!r}", f"use one of {', '.join(SENSITIVITY)}")
    created = _time(ev.created, "created", now)
    if created > now + 300:
        raise InvalidEvent("event created time is in the future", "send unix seconds of when it happened")
    expires = created + retention.ttl(kind)
    if ev.expires is not None:
        expires = min(expires, _time(ev.expires, "expires", now))  # apps may shorten, never extend
    idem = ev.idempotency_key
    if idem is not None and (not isinstance(idem, str) or not idem or len(idem) > 200):
        raise InvalidEvent("idempotency_key must be 1-200 characters of text", "send a stable id per event, e.g. a UUID")
    secrets = tuple(s for s in ev.secrets if isinstance(s, str) and s)
    n = 0
    title, k = redactor.redact(ev.title, secrets)
    n += k
    if ev.sensitivity == "secret" and ev.body:
        # The app says the whole body is secret: keep that it happened, never what it said.
        body, k = "[REDACTED:secret]", 1
    else:
        body, k = redactor.redact(ev.body, secrets)
    n += k
    uri, k = redactor.redact(ev.uri, secrets)
    n += k
    ents: dict[str, list[str]] = {}
    for t in ENTITY_TYPES:
        vals = []
        for v in getattr(ev.entities, t):
            if len(v) > MAX_FIELD:
                raise InvalidEvent(f"an entry of entities.{t} is too long", "send names, not documents")
            rv, k = redactor.redact(v, secrets)
            n += k
            vals.append(rv)
        ents[t] = vals
    text = " ".join(v for t in ENTITY_TYPES for v in ents[t])
    return Row(app, kind, title, body, uri, json.dumps(ents, separators=(",", ":")), text, ev.sensitivity,
               created, expires, idem, n)


def _time(value: object, name: str, now: float) -> float:
    if value is None:
        return now
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidEvent(f"event field {name} must be unix seconds", f"send {name} as a number, e.g. {int(now)}")
    return float(value)
