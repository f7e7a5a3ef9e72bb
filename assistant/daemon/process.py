"""Start, stop and query a background daemon process (no service manager needed)."""

from __future__ import annotations


import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace

from assistant.daemon.settings import DaemonConfig
from runtime.errors import AssistantError


@dataclass(frozen=True)
class DaemonStatus:
    """What `assistant daemon status` reports."""

    running: bool
    pid: int | None
    socket: str | None
    version: str | None = None
    uptime_seconds: float | None = None
    loaded_models: tuple[str, ...] = ()


def read_pid(settings: DaemonConfig) -> int | None:
    """Return the pid in the pid file if that process is alive."""
    try:
        pid = int(settings.pid_path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:  # alive, but someone else's: not our daemon
        return None


def status(settings: DaemonConfig) -> DaemonStatus:
    """Ask the daemon over its socket; fall back to the pid file."""
    from assistant.client import Client, ClientOptions, DaemonUnavailable

    pid = read_pid(settings)
    sock = str(settings.socket_path) if settings.socket_path else None
    if settings.socket_path is None or not settings.socket_path.exists():
        return DaemonStatus(False, pid, sock)
    try:
        with Client(ClientOptions(socket_path=settings.socket_path, timeout=5)) as c:
            h = c.health()
    except (DaemonUnavailable, AssistantError, OSError):
        return DaemonStatus(False, pid, sock)
    return DaemonStatus(True, pid, sock, h.version, h.uptime_seconds, tuple(h.loaded_models))


def start(settings: DaemonConfig, extra_args: tuple[str, ...] = (), wait: float = 20.0) -> DaemonStatus:
    """Start `assistant daemon run` in the background and wait until it answers."""
    current = status(settings)
    if current.running:
        return current
    settings.log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "assistant.cli", "daemon", "run", *extra_args]
    with open(settings.log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        st = status(settings)
        if st.running:
            # status() reads the pid file before probing the socket, so it can miss a file written in between
            return st if st.pid is not None else replace(st, pid=proc.pid)
        if proc.poll() is not None:
            raise AssistantError(
                f"the daemon exited with status {proc.returncode}", f"see its log: {settings.log_path}"
            )
        time.sleep(0.1)
    raise AssistantError(
        f"the daemon did not answer within {wait:.0f} s", f"see its log: {settings.log_path}"
    )


def stop(settings: DaemonConfig, wait: float = 10.0) -> bool:
    """Stop the background daemon; return whether one was running."""
    pid = read_pid(settings)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True
