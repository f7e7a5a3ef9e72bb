"""`assistant daemon ...`, `assistant apps ...` and `assistant call ...`: thin commands over
assistant.daemon and assistant.client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from assistant.cli import console, friendly
from runtime.config import Config
from runtime.errors import AssistantError


def _settings(cfg: Config, socket: str | None = None, tcp: str | None = None, fd: int | None = None) -> Any:
    from assistant.daemon.settings import DaemonConfig

    s = DaemonConfig.from_config(cfg)
    if socket:
        s = s.with_(socket_path=Path(socket).expanduser())
    if tcp:
        s = s.with_tcp(tcp)
    if fd is not None:
        s = s.with_(fd=fd)
    return s


@click.group()
def daemon() -> None:
    """Run the assistant as a background service for other apps (Unix socket, optional loopback TCP)."""


@daemon.command("run")
@click.option(
    "--tcp", default=None, metavar="[HOST:]PORT", help="Also listen on 127.0.0.1 or [::1] (loopback only)."
)
@click.option(
    "--socket", "socket_path", default=None, help="Unix socket path (default: in the runtime folder)."
)
@click.option(
    "--fd", type=int, default=None, help="Serve an inherited listening socket (systemd socket activation)."
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option(
    "--max-audio-minutes",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Longest audio upload accepted (its decoded length; longer ones get 413 before decoding).",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds a connection has to send a request's headers (408 and closed after).",
)
@click.pass_obj
@friendly
def run_cmd(
    cfg: Config,
    tcp: str | None,
    socket_path: str | None,
    fd: int | None,
    log_level: str,
    max_audio_minutes: float,
    header_timeout: float,
) -> None:
    """Run the daemon in the foreground until Ctrl-C or SIGTERM (then it drains and cleans up)."""
    import logging

    from assistant.daemon.server import run_daemon

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings(cfg, socket_path, tcp, fd).with_(
        max_audio_seconds=max_audio_minutes * 60, header_timeout=header_timeout
    )
    run_daemon(cfg, settings, log_level)


@daemon.command()
@click.option("--tcp", default=None, metavar="[HOST:]PORT", help="Also listen on loopback TCP.")
@click.pass_obj
@friendly
def start(cfg: Config, tcp: str | None) -> None:
    """Start the daemon in the background and wait until it answers."""
    from assistant.daemon import process

    settings = _settings(cfg, tcp=tcp)
    st = process.start(settings, ("--tcp", tcp) if tcp else ())
    console.print(f"daemon running (pid {st.pid}) on unix:{st.socket}", highlight=False)


@daemon.command()
@click.pass_obj
@friendly
def stop(cfg: Config) -> None:
    """Stop the background daemon started with `assistant daemon start`."""
    from assistant.daemon import process

    console.print("stopped" if process.stop(_settings(cfg)) else "no daemon was running")


@daemon.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
@friendly
def status(cfg: Config, as_json: bool) -> None:
    """Say whether the daemon runs, where, and which models it has loaded. Exit 3 when it does not."""
    from dataclasses import asdict

    from assistant.daemon import process

    st = process.status(_settings(cfg))
    if as_json:
        click.echo(json.dumps(asdict(st)))
    elif st.running:
        console.print(
            f"running (pid {st.pid or '?'}, up {st.uptime_seconds:.0f} s, version {st.version}) on "
            f"unix:{st.socket}; loaded: {', '.join(st.loaded_models) or 'none'}",
            highlight=False,
        )
    else:
        console.print(f"not running (socket {st.socket})", highlight=False)
    if not st.running:
        sys.exit(3)


def _install_options(cfg: Config, platform: str | None, socket_activation: bool, enable: bool) -> Any:
    from assistant.daemon.packaging import InstallOptions, detect_platform
    from assistant.daemon.settings import DaemonConfig

    env = {k: v for k, v in os.environ.items() if k.startswith("ASSISTANT_")}
    return InstallOptions(
        platform=platform or detect_platform(),
        home=Path.home(),
        env=env,
        log=DaemonConfig.from_config(cfg).log_path,
        socket_activation=socket_activation,
        enable=enable,
    )


@daemon.command()
@click.option(
    "--platform",
    type=click.Choice(["systemd", "launchd", "termux"]),
    default=None,
    help="Service system (default: detected).",
)
@click.option("--socket-activation", is_flag=True, help="systemd: start the daemon on the first request.")
@click.option("--no-enable", is_flag=True, help="Only write the files; do not enable or start the service.")
@click.option(
    "--dry-run", is_flag=True, help="Print the files and commands it would write and run; change nothing."
)
@click.pass_obj
@friendly
def install(
    cfg: Config, platform: str | None, socket_activation: bool, no_enable: bool, dry_run: bool
) -> None:
    """Install the daemon as a user service (systemd, launchd or Termux:Boot) and enable it."""
    from assistant.daemon.packaging import install as do_install
    from assistant.daemon.packaging import plan

    opts = _install_options(cfg, platform, socket_activation, not no_enable)
    if dry_run:
        todo = plan(opts)
        for path, text in todo.files:
            click.echo(f"# would write {path}:\n{text}")
        for c in todo.commands:
            click.echo(f"# would run: {c}")
        return
    res = do_install(opts)
    for f in res.files:
        console.print(f"wrote {f}", highlight=False)
    for c in res.commands:
        console.print(f"ran {c}", highlight=False)
    for n in res.notes:
        console.print(f"note: {n}", highlight=False)


@daemon.command()
@click.option(
    "--platform",
    type=click.Choice(["systemd", "launchd", "termux"]),
    default=None,
    help="Service system (default: detected).",
)
@click.pass_obj
@friendly
def uninstall(cfg: Config, platform: str | None) -> None:
    """Stop and disable the user service and remove its files."""
    from assistant.daemon.packaging import uninstall as do_uninstall

    res = do_uninstall(_install_options(cfg, platform, False, True))
    for f in res.files:
        console.print(f"removed {f}", highlight=False)
    for n in res.notes:
        console.print(f"note: {n}", highlight=False)


# -- apps ------------------------------------------------------------------------------------------
def _registry(cfg: Config) -> Any:
    from assistant.daemon.apps import AppRegistry

    return AppRegistry(_settings(cfg).registry_path)


@click.group()
def apps() -> None:
    """Register the apps that may call the daemon, each with its own token and scopes."""


@apps.command("add")
@click.argument("name")
@click.option(
    "--scopes",
    required=True,
    help="Comma-separated: chat, autocomplete, translate, stt, memory:read, memory:write, admin.",
)
@click.pass_obj
@friendly
def apps_add(cfg: Config, name: str, scopes: str) -> None:
    """Register app NAME and print its token once (only a hash of it is stored)."""
    token = _registry(cfg).add(name, scopes)
    click.echo(token)
    click.echo(f"app {name} registered; keep this token, it is not shown again", err=True)


@apps.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def apps_list(cfg: Config, as_json: bool) -> None:
    """List registered apps and their scopes (tokens are never shown)."""
    import time

    recs = _registry(cfg).list()
    if as_json:
        click.echo(
            json.dumps([{"name": r.name, "scopes": list(r.scopes), "created_at": r.created_at} for r in recs])
        )
        return
    if not recs:
        console.print("no apps registered; add one with `assistant apps add NAME --scopes chat`")
    for r in recs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        console.print(f"{r.name:20} {','.join(r.scopes):40} added {when}", highlight=False)


@apps.command("revoke")
@click.argument("name")
@click.pass_obj
@friendly
def apps_revoke(cfg: Config, name: str) -> None:
    """Revoke app NAME: its token stops working at once, and its cross-app memory grant goes too."""
    if not _registry(cfg).revoke(name):
        raise AssistantError(f"no app called {name}", "see `assistant apps list`")
    grant = " and its cross-app memory grant" if _revoke_memory_grant(cfg, name) else ""
    console.print(f"revoked {name}{grant}", highlight=False)


def _revoke_memory_grant(cfg: Config, name: str) -> bool:
    """Remove name's cross-app memory grant, if the memory exists and holds one; return whether it did."""
    if not (cfg.data_dir / "memory.db").exists():
        return False  # no memory yet: nothing to revoke, and none is created here
    from assistant.cli_memory import _memory, _user

    with _memory(cfg) as mem:
        if mem.granted_at(name) is None:
            return False
        mem.revoke(_user(), name)
    return True


# -- call ------------------------------------------------------------------------------------------
def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _body(ep: Any, args: tuple[str, ...], json_text: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if json_text:
        raw = sys.stdin.read() if json_text == "-" else json_text
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise AssistantError(f"--json is not valid JSON: {exc}", "pass a JSON object") from None
    free: list[str] = []
    for arg in args:
        key, eq, val = arg.partition("=")
        if eq and key.replace("_", "").replace(".", "").isalnum():
            body[key] = _value(val)
        else:
            free.append(arg)
    if free:
        if ep.from_text is None:
            raise AssistantError(f"{ep.name} takes no free text", "pass FIELD=VALUE pairs or --json")
        body = {**ep.from_text(" ".join(free)), **body}
    return body


def _text_of(event: Any) -> str | None:
    choices = getattr(event, "choices", None)
    if not choices:
        return None
    c = choices[0]
    delta = getattr(c, "delta", None)
    return (delta.content if delta is not None else getattr(c, "text", None)) or ""


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("args", nargs=-1)
@click.option("--json", "json_text", default=None, help="Request body as JSON ('-' reads stdin).")
@click.option(
    "--url", default=None, help="Daemon TCP address, e.g. http://127.0.0.1:8765 (default: the socket)."
)
@click.option("--token", default=None, help="App token (default: the local owner token).")
@click.option("--no-stream", is_flag=True, help="Wait for the whole answer instead of streaming it.")
@click.pass_obj
@friendly
def call(
    cfg: Config,
    name: str,
    args: tuple[str, ...],
    json_text: str | None,
    url: str | None,
    token: str | None,
    no_stream: bool,
) -> None:
    """Call daemon endpoint NAME: `assistant call chat "Hello"`, `assistant call models`,
    `assistant call completions prompt="Once upon" max_tokens=20`. Free text fills the endpoint's main field."""
    from assistant.api import endpoint
    from assistant.client import Client, ClientOptions

    try:
        ep = endpoint(name)
    except KeyError as exc:
        raise AssistantError(str(exc.args[0]), "run `assistant call models`, or see /openapi.json") from None
    opts = ClientOptions.from_config(cfg, token)
    if url:
        opts = ClientOptions(base_url=url, token=opts.token)
    body = _body(ep, args, json_text) if ep.request is not None else None
    with Client(opts) as client:
        if ep.stream is not None and body is not None and body.get("stream") and not no_stream:
            for event in client.stream(ep, body):
                text = _text_of(event)
                sys.stdout.write(text if text is not None else event.model_dump_json() + "\n")
                sys.stdout.flush()
            click.echo()
            return
        if body is not None:
            body["stream"] = False
        result = client.call(ep, body)
    click.echo(result if isinstance(result, str) else result.model_dump_json(indent=2))
