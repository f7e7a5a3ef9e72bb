"""`assistant connectors ...` and `assistant hook ...`: opt-in context connectors.

connectors list|enable|disable|status|run manage the connectors (settings in the config dir;
cursor and status in the encrypted memory database). hook bash|zsh|fish prints the shell snippet;
hook push is what the snippet runs after each command.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from assistant.cli import console, err_console, friendly
from runtime.config import Config


def _config(cfg: Config) -> Any:
    from skills.memory.connectors.config import ConnectorConfig

    return ConnectorConfig(cfg.config_dir)


def _get(name: str) -> Any:
    from skills.memory import connectors

    return connectors.get(name)


@click.group()
def connectors() -> None:
    """Opt-in context connectors: open files, recent files, browser, git, calendar, contacts, shell,
    window title, clipboard. All are off until you enable them."""


@connectors.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def list_cmd(cfg: Config, as_json: bool) -> None:
    """List every connector: on or off, its interval, folders and what it reads."""
    from skills.memory import connectors as reg

    settings = _config(cfg).load()
    rows: list[dict[str, Any]] = []
    for name in reg.names():
        conn = reg.get(name)
        s = settings.get(name)
        rows.append(
            {
                "name": name,
                "enabled": bool(s and s.enabled),
                "app": conn.app,
                "interval": (s.interval if s and s.interval else conn.interval),
                "paths": list(s.paths) if s else [],
                "description": conn.description,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    for r in rows:
        state = "[green]on [/]" if r["enabled"] else "[dim]off[/]"
        every = f"every {r['interval']:g}s" if r["interval"] else "pushed by hook"
        console.print(f"{state} [bold]{r['name']:<13}[/] {every:<14} {r['description']}", highlight=False)
        for p in r["paths"]:
            console.print(f"      {p}", highlight=False, markup=False)


@connectors.command()
@click.argument("name")
@click.option("--path", "paths", multiple=True, help="A folder, repository or file to read (repeatable).")
@click.option("--interval", type=float, default=None, help="Seconds between runs in the daemon.")
@click.pass_obj
@friendly
def enable(cfg: Config, name: str, paths: tuple[str, ...], interval: float | None) -> None:
    """Turn a connector on (the daemon starts it within seconds). Keys, password stores and
    private-browsing profiles can never be included."""
    from runtime.errors import ConfigError
    from skills.memory.connectors.privacy import check_listed

    conn = _get(name)
    listed = check_listed(paths, Path.home())
    if interval is not None and interval < 1:
        raise ConfigError("--interval must be at least 1 second", "use e.g. --interval 60")
    store = _config(cfg)
    old = store.get(name)
    s = store.update(
        name,
        enabled=True,
        paths=tuple(dict.fromkeys((*old.paths, *listed))),
        interval=interval or old.interval,
    )
    console.print(f"[green]enabled[/] {name} ({conn.description})", highlight=False)
    for p in s.paths:
        console.print(f"  reads {p}", highlight=False, markup=False)
    if name == "shell":
        console.print('  add to your shell rc: eval "$(assistant hook bash)" (or zsh, fish)')


@connectors.command()
@click.argument("name")
@click.option("--forget-paths", is_flag=True, help="Also drop the folders listed for it.")
@click.pass_obj
@friendly
def disable(cfg: Config, name: str, forget_paths: bool) -> None:
    """Turn a connector off (what it stored stays until you forget it: `assistant memory forget --app APP`)."""
    _get(name)
    changes: dict[str, Any] = {"enabled": False}
    if forget_paths:
        changes["paths"] = ()
    _config(cfg).update(name, **changes)
    console.print(f"disabled {name}")


def _memory_skill(cfg: Config) -> Any:
    from assistant.cli_memory import _memory

    return _memory(cfg)


@connectors.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def status(cfg: Config, name: str | None, as_json: bool) -> None:
    """Show each connector's last run: when, what it read last, and how much."""
    from skills.memory import connectors as reg
    from skills.memory.connectors.runner import load_status

    names = [name] if name else reg.names()
    for n in names:
        _get(n)
    settings = _config(cfg).load()
    with _memory_skill(cfg) as skill:
        out = {
            n: {"enabled": bool(settings.get(n) and settings[n].enabled), **load_status(skill, n)}
            for n in names
        }
    if as_json:
        print(json.dumps(out, indent=1))
        return
    for n, st in out.items():
        state = "on " if st["enabled"] else "off"
        if "last_run" not in st:
            console.print(f"{state} [bold]{n:<13}[/] never ran", highlight=False)
            continue
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st["last_run"]))
        what = (
            f"error: {st['error']}"
            if st.get("error")
            else "paused"
            if st.get("paused")
            else f"{st['stored']} new, {st['duplicates']} already stored ({st.get('note', '')})"
        )
        console.print(
            f"{state} [bold]{n:<13}[/] last run {when}: {what}; {st.get('total', 0)} in all", highlight=False
        )
        if st.get("last"):
            console.print(f"      last read: {st['last']}", highlight=False, markup=False)


@connectors.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def run(cfg: Config, name: str, as_json: bool) -> None:
    """Run a connector once now (enabled or not) and print what it stored."""
    from skills.memory.connectors.runner import make_context, run_once

    conn = _get(name)
    settings = _config(cfg).get(name)
    with _memory_skill(cfg) as skill:
        report = run_once(skill, conn, make_context(cfg, settings))
    if as_json:
        print(json.dumps(report.to_dict(), indent=1))
    elif report.error:
        err_console.print(f"[bold red]{name}:[/] {report.error}", highlight=False)
    elif report.paused:
        console.print(f"{name}: {report.note}")
    else:
        console.print(
            f"{name}: read {report.read}, stored {report.stored} new, {report.duplicates} already stored, "
            f"{report.dropped} excluded ({report.note})",
            highlight=False,
        )
    if report.error:
        sys.exit(1)


@connectors.command("forget")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
@friendly
def forget_cmd(cfg: Config, name: str, yes: bool) -> None:
    """Forget everything a connector stored, and turn it off."""
    from skills.memory import Caller
    from skills.memory.connectors.runner import forget

    conn = _get(name)
    if not yes:
        click.confirm(f"Forget everything the {name} connector stored?", abort=True)
    _config(cfg).update(name, enabled=False)
    with _memory_skill(cfg) as skill:
        n = forget(skill, conn, Caller.user())
    console.print(f"forgot {n} events from {name}; it is off")


# -- shell hook ---------------------------------------------------------------------------------


def _shell_token(cfg: Config) -> str:
    """Return the shell app's token, registering the app (memory:write only) on first use."""
    from assistant.daemon.apps import AppRegistry, ensure_app_token
    from assistant.daemon.settings import DaemonConfig
    from skills.memory.connectors.shell import APP

    registry = AppRegistry(DaemonConfig.from_config(cfg).registry_path)
    return ensure_app_token(registry, cfg.data_dir / "shell.token", APP, ("memory:write",))


class HookGroup(click.Group):
    """`assistant hook SHELL` prints a snippet; `assistant hook push` records one command."""


@click.group(cls=HookGroup)
def hook() -> None:
    """Shell integration: eval "$(assistant hook bash)" records each command (with its folder and
    exit status) in memory through the daemon. Enable it first: `assistant connectors enable shell`."""


def _snippet(cfg: Config, shell: str) -> None:
    from skills.memory.connectors.shell import snippet

    _shell_token(cfg)  # registered now, so the first command already has a token
    argv = [sys.executable, "-m", "assistant.cli"]
    print(snippet(shell, argv), end="")


for _shell in ("bash", "zsh", "fish"):

    def _make(shell: str) -> Any:
        @hook.command(shell, help=f'Print the {shell} hook: eval "$(assistant hook {shell})".')
        @click.pass_obj
        @friendly
        def cmd(cfg: Config) -> None:
            _snippet(cfg, shell)

        return cmd

    _make(_shell)


@hook.command()
@click.option("--shell", default="bash", show_default=True)
@click.option("--status", "exit_status", type=int, default=0)
@click.option("--cwd", default="")
@click.argument("command", nargs=-1)
@click.pass_obj
def push(cfg: Config, shell: str, exit_status: int, cwd: str, command: tuple[str, ...]) -> None:
    """Record one command (run by the hook after each command; quiet, never fails the shell)."""
    from skills.memory.connectors.config import ConnectorConfig
    from skills.memory.connectors.privacy import excluded
    from skills.memory.connectors.shell import secret_reason, shell_event

    text = " ".join(command)
    if not text.strip() or not ConnectorConfig(cfg.config_dir).get("shell").enabled:
        return
    if secret_reason(text) or (cwd and excluded(cwd, Path.home())):
        return  # never leaves the shell
    token_file = cfg.data_dir / "shell.token"
    if not token_file.exists():
        return
    try:
        from assistant.client import Client, ClientOptions

        opts = ClientOptions.from_config(cfg, token=token_file.read_text().strip())
        with Client(opts) as client:
            client.memory_push(shell_event(text, cwd, exit_status, shell, time.time()))
    except Exception:  # the daemon is down or capture paused: the shell must not notice
        return
