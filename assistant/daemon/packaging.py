"""Writes (and removes) the service definition for this platform: systemd, launchd or Termux:Boot.

Templates ship as package data in `assistant/daemon/templates/` and are read with importlib.resources,
so an installed wheel finds them; `$NAME` fields are filled in here.
"""

from __future__ import annotations

import importlib.resources
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Callable, Mapping, Sequence
from xml.sax.saxutils import escape

from runtime.errors import ConfigError

PLATFORMS = ("systemd", "launchd", "termux")
Runner = Callable[[Sequence[str]], "tuple[int, str]"]


@dataclass(frozen=True)
class InstallOptions:
    """What to install, where.

    platform: "systemd", "launchd" or "termux" (default: detected).
    home: the user's home folder (tests pass a temporary one).
    python: the interpreter the service runs (default: this one).
    env: ASSISTANT_* variables to carry into the service (e.g. ASSISTANT_HOME).
    socket_activation: systemd only: let systemd own the socket and start the daemon on demand.
    enable: run systemctl/launchctl to enable and start it now.
    log: where launchd and Termux write the daemon's output.
    """

    platform: str
    home: Path
    log: Path
    python: str = sys.executable
    env: Mapping[str, str] = field(default_factory=dict)
    socket_activation: bool = False
    enable: bool = True


@dataclass(frozen=True)
class InstallResult:
    """What install/uninstall did, for the CLI to print."""

    files: tuple[Path, ...]
    commands: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class InstallPlan:
    """What install would do: each (path, text) it would write and each command it would run."""

    files: tuple[tuple[Path, str], ...]
    commands: tuple[str, ...]


def detect_platform() -> str:
    """Return the service system of this machine."""
    if "com.termux" in sys.prefix:
        return "termux"
    if sys.platform == "darwin":
        return "launchd"
    if sys.platform.startswith("linux"):
        return "systemd"
    raise ConfigError(
        f"no service packaging for {sys.platform}", "run `assistant daemon start` at login instead"
    )


def read_template(name: str) -> str:
    """Return the text of a shipped template, e.g. "systemd/assistant.service"."""
    res = importlib.resources.files("assistant.daemon") / "templates"
    for part in name.split("/"):  # one step at a time: Traversable.joinpath takes one part on 3.10
        res = res / part
    try:
        return res.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"service template {name} is missing from the installed package ({exc})",
            "reinstall assistant-runtime",
        ) from None


def targets(opts: InstallOptions) -> dict[str, Path]:
    """Return template name -> where it is written, for the platform."""
    if opts.platform == "systemd":
        unit_dir = opts.home / ".config" / "systemd" / "user"
        out = {"systemd/assistant.service": unit_dir / "assistant.service"}
        if opts.socket_activation:
            out["systemd/assistant.socket"] = unit_dir / "assistant.socket"
        return out
    if opts.platform == "launchd":
        return {
            "launchd/dev.assistant.daemon.plist": opts.home
            / "Library"
            / "LaunchAgents"
            / "dev.assistant.daemon.plist"
        }
    if opts.platform == "termux":
        return {"termux/assistant-daemon": opts.home / ".termux" / "boot" / "assistant-daemon"}
    raise ConfigError(f"unknown platform {opts.platform!r}", f"use one of {', '.join(PLATFORMS)}")


def render(template: str, opts: InstallOptions) -> str:
    """Return the template text with its $ fields filled in for opts."""
    env = dict(opts.env)
    fields = {
        "PYTHON": opts.python,
        "LOG": str(opts.log),
        "RUN_ARGS": "--fd 3" if opts.socket_activation else "",
        "ENVIRONMENT": "\n".join(
            (f"export {k}={shlex.quote(v)}" if opts.platform == "termux" else f'Environment="{k}={v}"')
            for k, v in sorted(env.items())
        ),
        "PLIST_ENVIRONMENT": "".join(
            f"    <key>{escape(k)}</key>\n    <string>{escape(v)}</string>\n" for k, v in sorted(env.items())
        ),
    }
    return Template(template).substitute(fields)


def _run(cmd: Sequence[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return proc.returncode, (proc.stderr or proc.stdout).strip()


def _enable_commands(opts: InstallOptions, files: dict[str, Path]) -> list[list[str]]:
    if opts.platform == "systemd":
        unit = "assistant.socket" if opts.socket_activation else "assistant.service"
        return [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", unit]]
    if opts.platform == "launchd":
        plist = str(next(iter(files.values())))
        return [["launchctl", "bootstrap", f"gui/{os.getuid()}", plist]]
    return []


def plan(opts: InstallOptions) -> InstallPlan:
    """Return what install(opts) would write and run, touching nothing (`daemon install --dry-run`)."""
    files = tuple((dest, render(read_template(name), opts)) for name, dest in targets(opts).items())
    commands = _enable_commands(opts, targets(opts)) if opts.enable else []
    return InstallPlan(files, tuple(" ".join(c) for c in commands))


def install(opts: InstallOptions, run: Runner = _run) -> InstallResult:
    """Write the service files for opts.platform and, if asked, enable and start the service."""
    written: dict[str, Path] = {}
    for name, dest in targets(opts).items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(render(read_template(name), opts))
        if opts.platform == "termux":
            dest.chmod(0o700)
        written[name] = dest
    notes: list[str] = []
    commands: list[str] = []
    if opts.platform == "termux":
        notes.append("install the Termux:Boot app and open it once; the daemon then starts at boot")
    if opts.enable:
        for cmd in _enable_commands(opts, written):
            commands.append(" ".join(cmd))
            if shutil.which(cmd[0]) is None:
                notes.append(f"{cmd[0]} is not available here: run `{' '.join(cmd)}` where it is")
                break
            code, out = run(cmd)
            if code != 0:
                notes.append(
                    f"`{' '.join(cmd)}` failed ({out or code}); the files are written, enable it by hand"
                )
                break
    return InstallResult(tuple(written.values()), tuple(commands), tuple(notes))


def uninstall(opts: InstallOptions, run: Runner = _run) -> InstallResult:
    """Stop and disable the service, then remove its files."""
    files = {**targets(opts), **targets(InstallOptions(**{**opts.__dict__, "socket_activation": True}))}
    commands: list[str] = []
    notes: list[str] = []
    if opts.enable:
        if opts.platform == "systemd":
            cmds = [["systemctl", "--user", "disable", "--now", "assistant.socket", "assistant.service"]]
        elif opts.platform == "launchd":
            cmds = [["launchctl", "bootout", f"gui/{os.getuid()}/dev.assistant.daemon"]]
        else:
            cmds = []
        for cmd in cmds:
            if shutil.which(cmd[0]) is None:
                continue
            commands.append(" ".join(cmd))
            run(cmd)  # a service that was never enabled makes these fail; removal goes on anyway
    removed = []
    for dest in files.values():
        if dest.exists():
            dest.unlink()
            removed.append(dest)
    if opts.enable and opts.platform == "systemd" and shutil.which("systemctl"):
        run(["systemctl", "--user", "daemon-reload"])
    if not removed:
        notes.append("no service files were installed")
    return InstallResult(tuple(removed), tuple(commands), tuple(notes))
