"""The daemon as a real process (`assistant daemon run`): SIGTERM shuts it down cleanly, `stop` never
signals a process that merely reuses its pid, and no token reaches its log at any level."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from assistant.daemon import process
from assistant.daemon.apps import AppRegistry
from assistant.daemon.settings import DaemonConfig
from runtime.config import Config

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    settings: DaemonConfig
    log: Path
    port: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(home: Path, *args: str) -> Running:
    env = {**os.environ, "ASSISTANT_HOME": str(home)}
    settings = DaemonConfig.from_config(Config.from_env(env))
    port = _free_port()
    log = home / "daemon.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "daemon", "run", "--tcp", f"127.0.0.1:{port}", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    assert settings.socket_path is not None
    deadline = time.monotonic() + 60  # imports on a loaded 2-core machine
    while not (settings.socket_path.exists() and settings.pid_path.exists()):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the daemon did not start"
        time.sleep(0.1)
    return Running(proc, settings, log, port)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    # never leave a daemon behind, whatever failed
    for pid_file in tmp_path.rglob("daemon.pid"):
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (ValueError, IndexError, ProcessLookupError):
            pass


def test_stop_drains_and_removes_socket_and_pid_file(home: Path) -> None:
    d = _start(home)
    assert d.settings.socket_path is not None
    assert process.read_pid(d.settings) == d.proc.pid
    assert process.stop(d.settings) is True
    assert d.proc.wait(10) == 0, d.log.read_text()  # exited by itself, not killed by the signal
    assert not d.settings.socket_path.exists() and not d.settings.pid_path.exists()
    assert "assistant daemon stopped" in d.log.read_text()
    assert process.stop(d.settings) is False  # nothing left to stop


def test_stop_never_signals_a_process_that_reused_the_pid(home: Path) -> None:
    settings = DaemonConfig.from_config(Config.from_env({"ASSISTANT_HOME": str(home)}))
    settings.pid_path.parent.mkdir(parents=True, exist_ok=True)
    other = subprocess.Popen(["sleep", "30"])
    try:
        start = process.process_start(other.pid)
        assert start is not None
        # a daemon that died left its pid file; its pid now belongs to `sleep` (another start time)
        settings.pid_path.write_text(f"{other.pid} {start}0\n")
        assert process.read_pid(settings) is None
        assert process.stop(settings) is False
        settings.pid_path.write_text(f"{other.pid}\n")  # an old pid file: no start time to check
        assert process.stop(settings) is False
        assert other.poll() is None  # never signalled
        assert not settings.pid_path.exists()  # the stale file is cleared
    finally:
        other.kill()
        other.wait()


def test_no_token_reaches_the_log_at_debug_level(home: Path) -> None:
    import websockets.exceptions
    from websockets.sync.client import connect

    settings = DaemonConfig.from_config(Config.from_env({"ASSISTANT_HOME": str(home)}))
    registry = AppRegistry(settings.registry_path)
    chat = registry.add("chatter", "chat")  # no stt scope: the captions handshake is refused
    lt = registry.add("translator", "translate")
    d = _start(home, "--log-level", "debug")
    bogus = "ast_" + "x" * 43  # an unknown token is still a secret someone typed
    base = f"http://127.0.0.1:{d.port}"
    ws = f"ws://127.0.0.1:{d.port}/v1/audio/captions"
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.get("/v1/models", headers={"Authorization": f"Bearer {chat}"}).status_code == 200
            assert c.get("/v1/models", headers={"Authorization": f"Bearer {bogus}"}).status_code == 401
            assert c.get(f"/languages?api_key={lt}").status_code == 200
            assert c.post("/detect", data={"q": "", "api_key": lt}).status_code in (200, 422)
        for url, headers in (
            (ws, {"Authorization": f"Bearer {chat}"}),
            (f"{ws}?api_key={lt}&language=en", {}),
            (f"{ws}?api_key={bogus}", {"Authorization": f"Bearer {bogus}"}),
        ):
            with pytest.raises(websockets.exceptions.InvalidStatus):
                with connect(url, additional_headers=headers, open_timeout=30):
                    pass
    finally:
        process.stop(d.settings)
        d.proc.wait(15)
    log = d.log.read_text()
    for token in (chat, lt, bogus):
        assert token not in log and token[4:20] not in log, token
    assert "/v1/audio/captions" in log and "[REDACTED]" in log  # debug logging ran and saw the lines
