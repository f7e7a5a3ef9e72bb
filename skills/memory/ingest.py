"""Validation and redaction of pushed events: turns an EventIn (or its JSON dict) into the row the store writes.

This runs for every pushed event, so it is written for speed: dicts are validated directly rather
than through EventIn first, and redaction is skipped for events whose text no rule can match.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

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
_KNOWN = frozenset({"kind", "title", "body", "uri", "entities", "sensitivity", "created", "expires",
                    "idempotency_key", "secrets", "app"})
_ENT_OK = frozenset(ENTITY_TYPES)
_NO_ENTS = ((), (), ())
_NO_ENTS_JSON = '{"people":[],"files":[],"places":[]}'
_ESC = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]  # the C string escaper json uses


class Row(NamedTuple):
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
    ents = (ev.entities.people, ev.entities.files, ev.entities.places)
    return _prepare(app, ev.kind, ev.title, ev.body, ev.uri, ents, ev.sensitivity, ev.created, ev.expires,
                    ev.idempotency_key, ev.secrets, now, retention, redactor)


def prepare_dict(data: Mapping[str, Any], app: str, now: float, retention: Retention, redactor: Redactor) -> Row:
    """Return the row for a JSON-like event, with the checks and errors of EventIn.from_dict + prepare."""
    # `type(x) is dict` first: isinstance against an ABC costs more than the rest of these checks.
    if type(data) is not dict and not isinstance(data, Mapping):
        raise InvalidEvent("an event must be a JSON object", 'send {"kind": "note", "title": ..., "body": ...}')
    if not _KNOWN.issuperset(data):
        extra = sorted(set(data) - _KNOWN)
        raise InvalidEvent(f"unknown event field {extra[0]!r}", f"use only {', '.join(sorted(_KNOWN))}")
    get = data.get
    raw = get("entities")
    ents: tuple[Sequence[str], ...] = _NO_ENTS
    if raw:
        if (type(raw) is not dict and not isinstance(raw, Mapping)) or not _ENT_OK.issuperset(raw):
            raise InvalidEvent("entities must be an object with people, files and places lists",
                               'send "entities": {"people": ["Ana"], "files": [], "places": []}')
        ents = (_strs(raw["people"], "entities.people") if "people" in raw else (),
                _strs(raw["files"], "entities.files") if "files" in raw else (),
                _strs(raw["places"], "entities.places") if "places" in raw else ())
    secrets = get("secrets")
    return _prepare(app, get("kind"), get("title", ""), get("body", ""), get("uri", ""), ents,
                    get("sensitivity", "normal"), get("created"), get("expires"), get("idempotency_key"),
                    _strs(secrets, "secrets") if secrets else (), now, retention, redactor)


def _strs(value: Any, name: str) -> Sequence[str]:
    if type(value) is not list and (isinstance(value, str) or not isinstance(value, (list, tuple))):
        raise InvalidEvent(f"{name} must be a list of strings", f'send "{name}": ["..."]')
    for v in value:
        if type(v) is not str and not isinstance(v, str):
            raise InvalidEvent(f"{name} must be a list of strings", f'send "{name}": ["..."]')
    return value


def _prepare(app: str, kind: Any, title: Any, body: Any, uri: Any, ents: tuple[Sequence[str], ...], sensitivity: Any,
             created_in: Any, expires_in: Any, idem: Any, secrets_in: Sequence[str], now: float,
             retention: Retention, redactor: Redactor) -> Row:
    if type(kind) is not str or kind not in _KIND_OK:
        if not isinstance(kind, str) or not kind:
            raise InvalidEvent("event has no kind", f"set kind to one of {', '.join(KINDS)} (or a custom x-name)")
        # Custom kinds are allowed with an "x-" prefix so typos in the built-in ones still fail loudly.
        if not (kind.startswith("x-") and 2 < len(kind) <= 64 and kind[2:].replace("_", "").isalnum()):
            raise InvalidEvent(f"unknown event kind {kind!r}", f"use one of {', '.join(KINDS)}, or x-<name> for your own")
    if (type(title) is not str or type(body) is not str or type(uri) is not str or len(title) > MAX_FIELD
            or len(body) > MAX_TEXT or len(uri) > MAX_FIELD):
        _check_text(title, body, uri)
    if not (title or body or uri):
        raise InvalidEvent("event has no title, body or uri", "send at least one of them")
    if sensitivity not in SENSITIVITY:  # a tuple: unhashable junk gets the error, not a TypeError
        raise InvalidEvent(f"unknown sensitivity {sensitivity!r}", f"use one of {', '.join(SENSITIVITY)}")
    created = _time(created_in, "created", now)
    if created > now + 300:
        raise InvalidEvent("event created time is in the future", "send unix seconds of when it happened")
    expires = created + retention.ttl(kind)
    if expires_in is not None:
        expires = min(expires, _time(expires_in, "expires", now))  # apps may shorten, never extend
    if idem is not None and (not isinstance(idem, str) or not idem or len(idem) > 200):
        raise InvalidEvent("idempotency_key must be 1-200 characters of text", "send a stable id per event, e.g. a UUID")
    for t, vals in zip(ENTITY_TYPES, ents):
        for v in vals:
            if len(v) > MAX_FIELD:
                raise InvalidEvent(f"an entry of entities.{t} is too long", "send names, not documents")
    secrets = tuple(s for s in secrets_in if isinstance(s, str) and s) if secrets_in else ()
    whole_body_secret = sensitivity == "secret" and bool(body)
    n = 0
    names = [*ents[0], *ents[1], *ents[2]]
    # One check over all the text: most events hold nothing any redaction rule could match.
    if secrets or not redactor.clean("\n".join((title, "" if whole_body_secret else body, uri, *names))):
        title, k = redactor.redact(title, secrets)
        n += k
        if not whole_body_secret:
            body, k = redactor.redact(body, secrets)
            n += k
        uri, k = redactor.redact(uri, secrets)
        n += k
        red: list[list[str]] = []
        for vals in ents:
            out = []
            for v in vals:
                rv, k = redactor.redact(v, secrets)
                n += k
                out.append(rv)
            red.append(out)
        ents = tuple(red)
        names = [v for vals in ents for v in vals]
    if whole_body_secret:
        # The app says the whole body is secret: keep that it happened, never what it said.
        body = "[REDACTED:secret]"
        n += 1
    if names:
        # Hand-built, with json's own C escaper: json.dumps costs more than all the checks above.
        ents_json = (f'{{"people":[{",".join(map(_ESC, ents[0]))}],"files":[{",".join(map(_ESC, ents[1]))}],'
                     f'"places":[{",".join(map(_ESC, ents[2]))}]}}')
    else:
        ents_json = _NO_ENTS_JSON
    return Row(app, kind, title, body, uri, ents_json, " ".join(names), sensitivity, created, expires, idem, n)


def _check_text(title: Any, body: Any, uri: Any) -> None:
    for name, value in (("title", title), ("body", body), ("uri", uri)):
        if not isinstance(value, str):
            raise InvalidEvent(f"event field {name} must be a string, got {type(value).__name__}",
                               f"send {name} as text")
        limit = MAX_TEXT if name == "body" else MAX_FIELD
        if len(value) > limit:
            raise InvalidEvent(f"event field {name} is {len(value)} characters, over the limit of {limit}",
                               f"send a shorter {name} (a summary, not the whole document)")


def _time(value: object, name: str, now: float) -> float:
    if value is None:
        return now
    if type(value) is float and 0 <= value < math.inf:  # the common case, without the checks below
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidEvent(f"event field {name} must be unix seconds", f"send {name} as a number, e.g. {int(now)}")
    return float(value)
