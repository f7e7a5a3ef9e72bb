"""Start, stop and query a background daemon process (no service manager needed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

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


def process_start(pid: int) -> str | None:
    """Return an id of when process pid started (stable for its life), or None if there is none.

    A pid alone can be reused by an unrelated process after the daemon dies; (pid, start) cannot.
    Linux: the start time in clock ticks from /proc/PID/stat; elsewhere `ps -o lstart=`.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None  # a /proc system without this pid: not running
    except OSError:
        return None
    else:
        # the command name (field 2) may hold spaces and parentheses: split after its last ')'
        fields = stat[stat.rindex(")") + 2 :].split()
        if not fields or fields[0] in ("Z", "X"):
            return None  # exited (a zombie waiting for its parent): no longer running
        return fields[19] if len(fields) > 19 else None  # field 22 of the whole line: starttime
    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return "_".join(out.stdout.split()) or None  # one word: the pid file is "PID START"


def write_pid_file(settings: DaemonConfig) -> None:
    """Record this process as the daemon: "PID START" (see process_start)."""
    settings.pid_path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    tmp = settings.pid_path.with_name(f".{settings.pid_path.name}.{pid}")
    tmp.write_text(f"{pid} {process_start(pid) or '-'}\n")
    os.replace(tmp, settings.pid_path)


def remove_pid_file(settings: DaemonConfig) -> None:
    """Remove the pid file if it names this process (a newer daemon may have replaced it)."""
    try:
        if settings.pid_path.read_text().split()[:1] == [str(os.getpid())]:
            settings.pid_path.unlink()
    except (FileNotFoundError, IndexError):
        pass


def read_pid(settings: DaemonConfig) -> int | None:
    """Return the daemon's pid from the pid file, if that process is alive and is the one that wrote
    it (same start time); None otherwise, so a reused pid is never taken for the daemon."""
    try:
        pid_s, start = settings.pid_path.read_text().split()[:2]
        pid = int(pid_s)
    except (FileNotFoundError, ValueError):
        return None  # missing, or an old one-field file: its pid cannot be checked, so never trust it
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or someone else's: not our daemon
        return None
    actual = process_start(pid)
    return pid if actual is not None and actual == start else None


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


def stop(settings: DaemonConfig, wait: float = 15.0) -> bool:
    """Stop the background daemon with SIGTERM (it drains, closes models, removes its socket and pid
    file); return whether one was running. A pid file naming another process is removed, unsignalled."""
    pid = read_pid(settings)
    if pid is None:
        _remove_stale(settings)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process_start(pid) is None:  # exited
            return True
        time.sleep(0.05)
    if read_pid(settings) == pid:  # still the same process: it hung while shutting down
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while process_start(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
    _remove_stale(settings)
    return True


def _remove_stale(settings: DaemonConfig) -> None:
    """Remove the pid file and socket of a daemon that is not running (died, or was killed)."""
    if read_pid(settings) is not None:
        return
    settings.pid_path.unlink(missing_ok=True)
    if settings.socket_path is not None and settings.socket_path.is_socket():
        import socket

        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(settings.socket_path))
        except OSError:
            settings.socket_path.unlink(missing_ok=True)  # nobody listens: left by a dead daemon
        finally:
            probe.close()
