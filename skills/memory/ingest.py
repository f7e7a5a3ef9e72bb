"""Validation and redaction of pushed events: turns a batch of EventIn objects (or their JSON
dicts) into the parameter rows the store inserts.

This runs for every pushed event and was most of the ingest cost, so it is written for speed:
one loop over the batch with the checks inline (a Python call costs as much as several checks),
dicts read directly rather than through EventIn, rows built as the lists executemany binds (slot
0 left for the id the store assigns), and redaction skipped for events whose text no rule can match.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Callable, NamedTuple

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
_SENS_OK = frozenset(SENSITIVITY)
_KNOWN = frozenset(
    {
        "kind",
        "title",
        "body",
        "uri",
        "entities",
        "sensitivity",
        "created",
        "expires",
        "idempotency_key",
        "secrets",
        "app",
    }
)
_ENT_OK = frozenset(ENTITY_TYPES)
_NO_ENTS_JSON = '{"people":[],"files":[],"places":[]}'
_ESC = json.encoder.encode_basestring_ascii  # the C string escaper json uses
_INF = math.inf


class Batch(NamedTuple):
    """Validated, redacted events ready to insert; slot 0 of each row is for the id the store assigns.

    events: [id, app, kind, title, body, uri, entities_json, sensitivity, created, expires, redactions],
        and idempotency_key last for keyed events only: rows without one are inserted by a statement
        with a literal NULL, which SQLite inserts 15% faster than a bound NULL (the partial
        (app, idem) index is then known not to apply when the statement is prepared).
    texts: [id, title, body, uri, entities_text], the FTS row of each event.
    keyed: whether any event carries an idempotency key (otherwise no duplicate lookup is needed).
    """

    events: list[list[Any]]
    texts: list[list[Any]]
    keyed: bool


def prepare_batch(
    events: Sequence[Any],
    app: str,
    push_as: Callable[[Any], str],
    now: float,
    retention: Retention,
    redactor: Redactor,
) -> Batch:
    """Return the rows to store for events pushed by app; InvalidEvent names the first bad event and field.

    push_as(name) returns the app an event with an explicit "app" field is stored under (or raises
    ScopeDenied); events without one, or naming app itself, are stored under app.
    """
    ttls = retention.kinds
    default_ttl = float(retention.default)
    clean = redactor.clean
    rows: list[list[Any]] = []
    texts: list[list[Any]] = []
    keyed = False
    allowed: set[str] = set()
    kind: Any  # validated below, whichever shape the event came in
    i = 0
    try:
        for i, ev in enumerate(events):
            # `type(x) is dict` first: isinstance against an ABC costs more than all the checks below.
            if type(ev) is dict:
                if not _KNOWN.issuperset(ev):
                    _unknown(ev)
                get = ev.get
                as_app = get("app")
                if as_app is None or as_app == app:
                    ev_app = app
                elif (
                    type(as_app) is str and as_app in allowed
                ):  # the owner importing for an app: checked once
                    ev_app = as_app
                else:
                    ev_app = push_as(as_app)
                    allowed.add(ev_app)
                kind = get("kind")
                title = get("title", "")
                body = get("body", "")
                uri = get("uri", "")
                sens = get("sensitivity", "normal")
                created = get("created")
                expires = get("expires")
                idem = get("idempotency_key")
                raw = get("entities")
                people, files, places = _entities(raw) if raw else ((), (), ())
                secrets = get("secrets")
                if secrets:
                    secrets = _strs(secrets, "secrets")
            else:
                (
                    ev_app,
                    kind,
                    title,
                    body,
                    uri,
                    people,
                    files,
                    places,
                    sens,
                    created,
                    expires,
                    idem,
                    secrets,
                ) = _unpack(ev, app, push_as)

            if type(kind) is not str or kind not in _KIND_OK:
                _check_kind(kind)
            if (
                type(title) is not str
                or type(body) is not str
                or type(uri) is not str
                or len(title) > MAX_FIELD
                or len(body) > MAX_TEXT
                or len(uri) > MAX_FIELD
            ):
                _check_text(title, body, uri)
            if not (title or body or uri):
                raise InvalidEvent(
                    "event has no title, body or uri", "send at least one of them", field="body"
                )
            if (
                type(sens) is not str or sens not in _SENS_OK
            ) and sens not in SENSITIVITY:  # unhashable junk too
                raise InvalidEvent(
                    f"unknown sensitivity {sens!r}",
                    f"use one of {', '.join(SENSITIVITY)}",
                    field="sensitivity",
                )
            if created is None:
                created = now
            elif type(created) is not float or not 0 <= created < _INF:
                created = _time(created, "created", now)
            if created > now + 300:
                raise InvalidEvent(
                    "event created time is in the future",
                    "send unix seconds of when it happened",
                    field="created",
                )
            ttl = ttls.get(kind)
            end = created + (default_ttl if ttl is None else ttl)
            if expires is not None:
                end = min(end, _time(expires, "expires", now))  # apps may shorten, never extend
            if idem is not None:
                if type(idem) is not str or not idem or len(idem) > 200:
                    raise InvalidEvent(
                        "idempotency_key must be 1-200 characters of text",
                        "send a stable id per event, e.g. a UUID",
                        field="idempotency_key",
                    )
                keyed = True

            whole_body_secret = sens == "secret" and bool(body)
            n = 0
            if people or files or places:
                names = [*people, *files, *places]
                for v in names:
                    if len(v) > MAX_FIELD:
                        _long_entity(people, files, places)
                # One check over all the text: most events hold nothing any redaction rule could match.
                if secrets or not clean("\n".join((title, "" if whole_body_secret else body, uri, *names))):
                    title, body, uri, people, files, places, n = _redact(
                        redactor, secrets, whole_body_secret, title, body, uri, people, files, places
                    )
                    names = [*people, *files, *places]
                # Hand-built, with json's own C escaper: json.dumps costs more than all the checks above.
                ents_json = (
                    f'{{"people":[{",".join(map(_ESC, people))}],"files":[{",".join(map(_ESC, files))}],'
                    f'"places":[{",".join(map(_ESC, places))}]}}'
                )
                ents_text = " ".join(names)
            else:
                if secrets or not clean(f"{title}\n{'' if whole_body_secret else body}\n{uri}"):
                    title, body, uri, people, files, places, n = _redact(
                        redactor, secrets, whole_body_secret, title, body, uri, (), (), ()
                    )
                ents_json = _NO_ENTS_JSON
                ents_text = ""
            if whole_body_secret:
                # The app says the whole body is secret: keep that it happened, never what it said.
                body = "[REDACTED:secret]"
                n += 1
            if idem is None:
                rows.append([None, ev_app, kind, title, body, uri, ents_json, sens, created, end, n])
            else:
                rows.append([None, ev_app, kind, title, body, uri, ents_json, sens, created, end, n, idem])
            texts.append([None, title, body, uri, ents_text])
    except InvalidEvent as exc:
        if len(events) > 1:
            where = f"events.{i}" + (f".{exc.field}" if exc.field else "")
            raise InvalidEvent(f"event {i}: {exc.message}", exc.fix, field=where) from None
        raise
    return Batch(rows, texts, keyed)


def _unpack(ev: Any, app: str, push_as: Callable[[Any], str]) -> tuple[Any, ...]:
    """Return the fields of an EventIn or a non-dict mapping, in prepare_batch's order."""
    if isinstance(ev, EventIn):
        e = ev.entities
        ev_app = app if ev.app is None or ev.app == app else push_as(ev.app)
        secrets: Any = tuple(s for s in ev.secrets if isinstance(s, str) and s)
        return (
            ev_app,
            ev.kind,
            ev.title,
            ev.body,
            ev.uri,
            e.people,
            e.files,
            e.places,
            ev.sensitivity,
            ev.created,
            ev.expires,
            ev.idempotency_key,
            secrets,
        )
    if not isinstance(ev, Mapping):
        raise InvalidEvent(
            "an event must be a JSON object", 'send {"kind": "note", "title": ..., "body": ...}'
        )
    if not _KNOWN.issuperset(ev):
        _unknown(ev)
    as_app = ev.get("app")
    raw = ev.get("entities")
    people, files, places = _entities(raw) if raw else ((), (), ())
    secrets = ev.get("secrets")
    return (
        app if as_app is None or as_app == app else push_as(as_app),
        ev.get("kind"),
        ev.get("title", ""),
        ev.get("body", ""),
        ev.get("uri", ""),
        people,
        files,
        places,
        ev.get("sensitivity", "normal"),
        ev.get("created"),
        ev.get("expires"),
        ev.get("idempotency_key"),
        _strs(secrets, "secrets") if secrets else (),
    )


def _redact(
    redactor: Redactor,
    secrets: Any,
    whole_body_secret: bool,
    title: str,
    body: str,
    uri: str,
    people: Sequence[str],
    files: Sequence[str],
    places: Sequence[str],
) -> tuple[Any, ...]:
    """Return the fields with every redaction applied, and how many were made."""
    secrets = tuple(s for s in secrets if isinstance(s, str) and s) if secrets else ()
    redact = redactor.redact
    title, n = redact(title, secrets)
    if not whole_body_secret:  # a secret body is replaced whole by the caller
        body, k = redact(body, secrets)
        n += k
    uri, k = redact(uri, secrets)
    n += k
    out = []
    for vals in (people, files, places):
        red = []
        for v in vals:
            rv, k = redact(v, secrets)
            n += k
            red.append(rv)
        out.append(red)
    return title, body, uri, out[0], out[1], out[2], n


def _unknown(data: Mapping[str, Any]) -> None:
    extra = sorted(set(data) - _KNOWN)
    raise InvalidEvent(
        f"unknown event field {extra[0]!r}", f"use only {', '.join(sorted(_KNOWN))}", field=extra[0]
    )


def _entities(raw: Any) -> tuple[Sequence[str], Sequence[str], Sequence[str]]:
    if (type(raw) is not dict and not isinstance(raw, Mapping)) or not _ENT_OK.issuperset(raw):
        raise InvalidEvent(
            "entities must be an object with people, files and places lists",
            'send "entities": {"people": ["Ana"], "files": [], "places": []}',
            field="entities",
        )
    return (
        _strs(raw["people"], "entities.people") if "people" in raw else (),
        _strs(raw["files"], "entities.files") if "files" in raw else (),
        _strs(raw["places"], "entities.places") if "places" in raw else (),
    )


def _strs(value: Any, name: str) -> Sequence[str]:
    if type(value) is not list and (isinstance(value, str) or not isinstance(value, (list, tuple))):
        raise InvalidEvent(f"{name} must be a list of strings", f'send "{name}": ["..."]', field=name)
    for v in value:
        if type(v) is not str and not isinstance(v, str):
            raise InvalidEvent(f"{name} must be a list of strings", f'send "{name}": ["..."]', field=name)
    return value


def _check_kind(kind: Any) -> None:
    if not isinstance(kind, str) or not kind:
        raise InvalidEvent(
            "event has no kind", f"set kind to one of {', '.join(KINDS)} (or a custom x-name)", field="kind"
        )
    if kind in _KIND_OK:
        return
    # Custom kinds are allowed with an "x-" prefix so typos in the built-in ones still fail loudly.
    if not (kind.startswith("x-") and 2 < len(kind) <= 64 and kind[2:].replace("_", "").isalnum()):
        raise InvalidEvent(
            f"unknown event kind {kind!r}",
            f"use one of {', '.join(KINDS)}, or x-<name> for your own",
            field="kind",
        )


def _check_text(title: Any, body: Any, uri: Any) -> None:
    for name, value in (("title", title), ("body", body), ("uri", uri)):
        if not isinstance(value, str):
            raise InvalidEvent(
                f"event field {name} must be a string, got {type(value).__name__}",
                f"send {name} as text",
                field=name,
            )
        limit = MAX_TEXT if name == "body" else MAX_FIELD
        if len(value) > limit:
            raise InvalidEvent(
                f"event field {name} is {len(value)} characters, over the limit of {limit}",
                f"send a shorter {name} (a summary, not the whole document)",
                field=name,
            )


def _long_entity(*lists: Sequence[str]) -> None:
    for t, vals in zip(ENTITY_TYPES, lists):
        if any(len(v) > MAX_FIELD for v in vals):
            raise InvalidEvent(
                f"an entry of entities.{t} is too long", "send names, not documents", field=f"entities.{t}"
            )


def _time(value: object, name: str, now: float) -> float:
    if type(value) is float and 0 <= value < _INF:  # the common case, without the checks below
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidEvent(
            f"event field {name} must be unix seconds",
            f"send {name} as a number, e.g. {int(now)}",
            field=name,
        )
    return float(value)
