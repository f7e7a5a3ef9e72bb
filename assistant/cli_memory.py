"""`assistant memory ...`: thin commands over skills.memory. The CLI acts as the user (the owner),
so it sees every app's events and controls capture, retention and grants."""

from __future__ import annotations

import json
import sys
import time
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

import click

from assistant.cli import err_console, friendly
from runtime.config import Config


@contextmanager
def _memory(cfg: Config, encrypt: bool = True) -> Iterator[Any]:
    from assistant.services import Services
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import runtime_embedder
    from skills.memory.keys import KeyFileWarning

    services = Services(cfg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KeyFileWarning)
        skill = MemorySkill(
            MemoryOptions(StoreOptions(cfg.data_dir / "memory.db", encrypt=encrypt), background=False),
            **runtime_embedder(services),
        )
    for w in caught:
        if issubclass(w.category, KeyFileWarning):
            err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False)
    try:
        yield skill
    finally:
        skill.close()
        services.close()


def _user() -> Any:
    from skills.memory import Caller

    return Caller.user()


def _when(value: str | None) -> float | None:
    from skills.memory.text import parse_when

    return None if value is None else parse_when(value)


def _duration(text: str) -> float:
    from runtime.errors import ConfigError

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    t = text.strip().lower()
    try:
        return float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t) * 86400
    except (ValueError, KeyError):
        raise ConfigError(f"cannot read the duration {text!r}", "use e.g. 30d, 12h or 90m") from None


def _filters(app: tuple[str, ...], kind: tuple[str, ...], since: str | None, until: str | None) -> Any:
    from skills.memory import Filters

    return Filters(apps=app, kinds=kind, since=_when(since), until=_when(until))


def _show_event(ev: Any, extra: str = "") -> None:
    from assistant.cli import console

    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(ev.created))
    console.print(f"[bold]#{ev.id}[/] {when} [cyan]{ev.app}[/] {ev.kind}  ", end="", highlight=False)
    console.print(f"{ev.title or ev.uri}{extra}", highlight=False, markup=False)
    body = (ev.body[:160] + "…") if len(ev.body) > 160 else ev.body
    if body:
        console.print(f"    {body}", highlight=False, markup=False)


filter_options = [
    click.option("--app", multiple=True, help="Only these apps (repeatable)."),
    click.option("--kind", multiple=True, help="Only these kinds, e.g. message, url (repeatable)."),
    click.option("--since", default=None, help="From this time: 2d, 3h, today, yesterday, 2024-05-01."),
    click.option("--until", default=None, help="Up to this time (same forms as --since)."),
]


def with_filters(fn: Any) -> Any:
    for opt in reversed(filter_options):
        fn = opt(fn)
    return fn


@click.group()
def memory() -> None:
    """Cross-app context memory: push, search, resolve, browse, forget, pause, resume, stats."""


@memory.command()
@click.option("--app", default="cli", show_default=True, help="Record the event under this app name.")
@click.option("--kind", default=None, help="file_opened, contact, message, url, clipboard, calendar, note.")
@click.option("--title", default="", help="Short title.")
@click.option("--body", default="", help="Text of the event.")
@click.option("--uri", default="", help="File path or URL.")
@click.option("--person", multiple=True, help="A person the event mentions (repeatable).")
@click.option("--file", "files", multiple=True, help="A file the event mentions (repeatable).")
@click.option("--place", multiple=True, help="A place the event mentions (repeatable).")
@click.option("--sensitivity", default="normal", show_default=True, help="public, normal, private or secret.")
@click.option(
    "--secret", multiple=True, help="A password or secret to redact wherever it appears (repeatable)."
)
@click.option(
    "--key", "idempotency_key", default=None, help="Idempotency key: a retry with it is stored once."
)
@click.option(
    "--json",
    "json_path",
    default=None,
    help="Read an event object or an array of them from a file, or - for stdin.",
)
@click.pass_obj
@friendly
def push(
    cfg: Config,
    app: str,
    kind: str | None,
    title: str,
    body: str,
    uri: str,
    person: tuple[str, ...],
    files: tuple[str, ...],
    place: tuple[str, ...],
    sensitivity: str,
    secret: tuple[str, ...],
    idempotency_key: str | None,
    json_path: str | None,
) -> None:
    """Store one event (or a JSON batch) and print its id."""
    from skills.memory import InvalidEvent

    if json_path:
        raw = sys.stdin.read() if json_path == "-" else open(json_path, encoding="utf-8").read()
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidEvent(
                f"--json is not valid JSON: {exc}", "pass an event object or an array of them"
            ) from None
        events = data if isinstance(data, list) else [data]
        events = [{"app": app, **e} if isinstance(e, dict) else e for e in events]
    else:
        if not kind:
            raise InvalidEvent("push needs --kind", "e.g. --kind note --title 'Call Ana' --body '...'")
        events = [
            {
                "app": app,
                "kind": kind,
                "title": title,
                "body": body,
                "uri": uri,
                "sensitivity": sensitivity,
                "entities": {"people": list(person), "files": list(files), "places": list(place)},
                "secrets": list(secret),
                "idempotency_key": idempotency_key,
            }
        ]
    with _memory(cfg) as mem:
        for r in mem.push_batch(_user(), events):
            note = " (already stored)" if r.duplicate else ""
            red = f", {r.redactions} redacted" if r.redactions else ""
            click.echo(f"stored #{r.id}{note}{red}")


@memory.command()
@click.argument("query")
@with_filters
@click.option("--keyword", is_flag=True, help="Keyword search only (no embeddings).")
@click.option(
    "--words", is_flag=True, help='Search the query\'s words even when it reads as a reference ("that file").'
)
@click.option("--limit", default=10, show_default=True, help="Most results.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def search(
    cfg: Config,
    query: str,
    app: tuple[str, ...],
    kind: tuple[str, ...],
    since: str | None,
    until: str | None,
    keyword: bool,
    words: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Search memory: BM25 plus meaning plus recency. A query that points at one thing ("that file",
    "her", "the PDF from yesterday") is resolved as a reference instead, and says so; --words, --json
    or a filter keep it a search."""
    from skills.memory import SearchOptions
    from skills.memory.resolve import looks_like_reference

    filters = _filters(app, kind, since, until)
    if not (words or as_json or app or kind or since or until) and looks_like_reference(query):
        click.echo(f"{query!r} reads as a reference: resolved it (--words searches its words)")
        _resolve(cfg, query, limit, as_json=False)
        return
    opts = SearchOptions(mode="keyword" if keyword else "hybrid", limit=limit, filters=filters)
    with _memory(cfg) as mem:
        if not keyword:
            mem.embed_pending()
        hits = mem.search(_user(), query, opts)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], indent=2))
        return
    if not hits:
        click.echo("nothing found")
    for h in hits:
        _show_event(h.event, f"  (score {h.score:.2f})")


@memory.command()
@click.argument("text")
@click.option("--limit", default=5, show_default=True, help="Most candidates.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def resolve(cfg: Config, text: str, limit: int, as_json: bool) -> None:
    """Resolve a reference such as "that file", "her" or "the PDF from yesterday" to events, with reasons."""
    _resolve(cfg, text, limit, as_json)


def _resolve(cfg: Config, text: str, limit: int, as_json: bool) -> None:
    with _memory(cfg) as mem:
        cands = mem.resolve(_user(), text, limit)
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in cands], indent=2))
        return
    if not cands:
        click.echo("no candidates")
    for c in cands:
        _show_event(c.event, f"  (score {c.score:.2f})" + (f" -> {c.entity}" if c.entity else ""))
        click.echo("    because: " + "; ".join(c.reasons))


@memory.command()
@with_filters
@click.option("--limit", default=50, show_default=True, help="Most events.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def browse(
    cfg: Config,
    app: tuple[str, ...],
    kind: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List events newest first, by app, kind and time."""
    from skills.memory import BrowseOptions

    with _memory(cfg) as mem:
        events = mem.browse(_user(), BrowseOptions(_filters(app, kind, since, until), limit))
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in events], indent=2))
        return
    for e in events:
        _show_event(e)


@memory.command()
@click.option("--id", "ids", multiple=True, type=int, help="Forget this event id (repeatable).")
@click.option("--app", default=None, help="Forget this app's events.")
@click.option("--since", default=None, help="Forget events from this time (2d, today, 2024-05-01).")
@click.option("--until", default=None, help="Forget events up to this time.")
@click.option("--all", "everything", is_flag=True, help="Forget everything.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
@friendly
def forget(
    cfg: Config,
    ids: tuple[int, ...],
    app: str | None,
    since: str | None,
    until: str | None,
    everything: bool,
    yes: bool,
) -> None:
    """Forget one event, an app, a time range, or everything, from every index."""
    from skills.memory import ForgetOptions

    opts = ForgetOptions(ids=ids, app=app, since=_when(since), until=_when(until), everything=everything)
    if not yes and (everything or not ids):
        click.confirm("Forget these events for good?", abort=True)
    with _memory(cfg) as mem:
        n = mem.forget(_user(), opts)
    click.echo(f"forgot {n} event{'s' if n != 1 else ''}")


@memory.command()
@click.pass_obj
@friendly
def pause(cfg: Config) -> None:
    """Pause all capture: apps' pushes are refused until resume."""
    with _memory(cfg) as mem:
        mem.pause(_user())
    click.echo("memory capture paused")


@memory.command()
@click.pass_obj
@friendly
def resume(cfg: Config) -> None:
    """Resume capture after a pause."""
    with _memory(cfg) as mem:
        mem.resume(_user())
    click.echo("memory capture resumed")


@memory.command()
@click.option("--default", "default", default=None, help="Default time to keep events, e.g. 30d.")
@click.option(
    "--kind", "kinds", multiple=True, help="Per-kind TTL as KIND=DURATION, e.g. clipboard=1d (repeatable)."
)
@click.pass_obj
@friendly
def retention(cfg: Config, default: str | None, kinds: tuple[str, ...]) -> None:
    """Show or set how long events are kept; expired events are purged from every index."""
    from runtime.errors import ConfigError
    from skills.memory import Retention

    with _memory(cfg) as mem:
        current = mem.store.retention()
        if default is None and not kinds:
            click.echo(f"default: {current.default / 86400:g} days")
            for k, v in sorted(current.kinds.items()):
                click.echo(f"{k}: {v / 86400:g} days")
            return
        per_kind = dict(current.kinds)
        for item in kinds:
            if "=" not in item:
                raise ConfigError(f"--kind {item!r} is not KIND=DURATION", "e.g. --kind clipboard=1d")
            k, v = item.split("=", 1)
            per_kind[k.strip()] = _duration(v)
        new = Retention(_duration(default) if default else current.default, per_kind)
        purged = mem.set_retention(_user(), new)
    click.echo(f"retention set; purged {purged} expired event{'s' if purged != 1 else ''}")


@memory.command()
@click.argument("app")
@click.pass_obj
@friendly
def grant(cfg: Config, app: str) -> None:
    """Let APP read every app's events (cross-app read)."""
    with _memory(cfg) as mem:
        mem.grant(_user(), app)
    click.echo(f"{app} may now read every app's events")


@memory.command()
@click.argument("app")
@click.pass_obj
@friendly
def revoke(cfg: Config, app: str) -> None:
    """Take cross-app read away from APP."""
    with _memory(cfg) as mem:
        mem.revoke(_user(), app)
    click.echo(f"{app} reads only its own events again")


@memory.command()
@click.option("--no-encrypt", is_flag=True, help="Opt out of encryption (only for a new, empty memory).")
@click.pass_obj
@friendly
def init(cfg: Config, no_encrypt: bool) -> None:
    """Create the memory database (encrypted with SQLCipher unless you opt out)."""
    with _memory(cfg, encrypt=not no_encrypt) as mem:
        click.echo(
            f"memory at {mem.store.path}: "
            + ("encrypted" if mem.store.encrypted else "NOT encrypted (opted out)")
        )


@memory.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def stats(cfg: Config, as_json: bool) -> None:
    """Show counts, size, encryption, pause and retention state."""
    with _memory(cfg) as mem:
        s = mem.stats(_user())
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(
        f"events: {s['events']} ({s['bytes_per_event'] or 0:g} bytes/event, {s['db_bytes']} bytes on disk)"
    )
    click.echo(f"encryption: {s['encryption']}")
    click.echo(f"capture: {'PAUSED' if s['paused'] else 'on'}")
    click.echo(
        f"retention: {s['retention']['default_days']:g} days; "
        + ", ".join(f"{k} {v:g} days" for k, v in s["retention"]["kinds_days"].items())
    )
    click.echo(f"embeddings: {s['embedded']} done, {s['pending_embeddings']} pending")
    click.echo(f"cross-app read granted to: {', '.join(s['grants']) or 'nobody'}")
    for app, n in sorted(s["apps"].items()):
        click.echo(f"  {app}: {n}")
