"""The shell hook in a real bash (and zsh when installed) pushing through a real daemon with the
shell's own app token; secret-looking commands never leave the shell."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from assistant.services import Services
from runtime.config import Config
from skills.memory import MemoryOptions, MemorySkill, StoreOptions
from skills.memory.connectors.config import ConnectorConfig
from skills.memory.connectors.shell import secret_reason
from skills.memory.embed import FakeEmbedder
from tests.daemon.helpers import Daemon, start_daemon, stop_daemon

from tests.skills.memory.connectors.helpers import events_of


@pytest.fixture(scope="module")
def shell_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, MemorySkill, Path]]:
    root = tmp_path_factory.mktemp("sh")
    memory = MemorySkill(
        MemoryOptions(StoreOptions(root / "memory.db", key_source="file")), embedder=FakeEmbedder()
    )
    services = Services(Config.from_env({"ASSISTANT_HOME": str(root)}), overrides={"memory": memory})
    d = start_daemon(root, services)
    yield d, memory, root
    stop_daemon(d)
    services.close()


def _env(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir(exist_ok=True)
    return {
        "ASSISTANT_HOME": str(root),
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HISTFILE": str(root / "hist"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[4]),
    }


def _hook(shell: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "hook", shell],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def _wait_for(mem: MemorySkill, marker: str, n: int) -> list[Any]:
    deadline = time.time() + 90
    while time.time() < deadline:
        got = [e for e in events_of(mem, "shell") if marker in e.title]
        if len(got) >= n:
            return got
        time.sleep(0.3)
    return [e for e in events_of(mem, "shell") if marker in e.title]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_hook_records_commands_with_folder_and_status(shell_daemon: Any, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (scripts/setup.sh test installs it)")
    d, mem, root = shell_daemon
    env = _env(root)
    ConnectorConfig(Config.from_env(env).config_dir).update("shell", enabled=True)
    work = root / f"work-{shell}"
    work.mkdir()
    marker = f"mark{shell}"
    script = (
        f'eval "$(cat {root}/hook-{shell}.sh)"\n'
        f"cd {work}\n"
        f"echo {marker}-one\n"
        f"test {marker}-two = nope\n"
        f"export AWS_SECRET_ACCESS_KEY={marker}abc123\n"
        f"curl -u me:hunter2 https://example.org/{marker}\n"
        "exit\n"
    )
    (root / f"hook-{shell}.sh").write_text(_hook(shell, env))
    args = [shell, "--norc", "--noprofile", "-i"] if shell == "bash" else [shell, "-f", "-i"]
    subprocess.run(args, input=script, env=env, capture_output=True, text=True, timeout=60)
    got = {e.title: e for e in _wait_for(mem, marker, 2)}
    one, two = got.get(f"echo {marker}-one"), got.get(f"test {marker}-two = nope")
    assert one is not None and two is not None, sorted(got)
    assert f"in {work}" in one.body and "exit status 0" in one.body and "exit status 1" in two.body
    assert one.app == "shell" and one.kind == "x-shell"
    time.sleep(1.0)  # the secret ones would have arrived with the others
    titles = [e.title for e in events_of(mem, "shell")]
    assert not [t for t in titles if "abc123" in t or "hunter2" in t]
    # its own token: the shell app may write memory, nothing else
    rec = next(r for r in d.registry.list() if r.name == "shell")
    assert rec.scopes == ("memory:write",)


def test_hook_is_silent_when_the_connector_is_off(tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "hook", "push", "--cwd", "/tmp", "--", "ls"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout == "" and out.stderr == ""


@pytest.mark.parametrize(
    "cmd",
    [
        "export GITHUB_TOKEN=ghp_abc",
        "mysql -u root -pS3cret db",
        "curl -H 'Authorization: Bearer x' https://api",
        "git clone https://me:pw@example.org/r.git",
        "echo 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        " ls  # leading space",
        "sshpass -p x ssh host",
    ],
)
def test_secret_looking_commands_are_skipped(cmd: str) -> None:
    assert secret_reason(cmd)


@pytest.mark.parametrize(
    "cmd", ["ls -la", "git commit -m 'Fix the footer'", "python -m pytest tests/ -q", "cd ~/src/webapp"]
)
def test_ordinary_commands_are_kept(cmd: str) -> None:
    assert secret_reason(cmd) is None
