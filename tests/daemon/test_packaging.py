"""Service files for systemd, launchd and Termux:Boot, written into a temporary home."""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Sequence

import pytest

from assistant.daemon.packaging import InstallOptions, install, uninstall


def _opts(tmp_path: Path, platform: str, **kw: object) -> InstallOptions:
    return InstallOptions(
        platform=platform,
        home=tmp_path,
        log=tmp_path / "d.log",
        python="/opt/py/bin/python",
        env={"ASSISTANT_HOME": "/srv/a b"},
        **kw,
    )  # type: ignore[arg-type]


def test_systemd_unit_and_socket_activation(tmp_path: Path) -> None:
    calls: list[Sequence[str]] = []

    def run(cmd: Sequence[str]) -> tuple[int, str]:
        calls.append(list(cmd))
        return 0, ""

    res = install(_opts(tmp_path, "systemd", socket_activation=True), run=run)
    unit_dir = tmp_path / ".config/systemd/user"
    service = (unit_dir / "assistant.service").read_text()
    assert "ExecStart=/opt/py/bin/python -m assistant.cli daemon run --fd 3" in service
    assert 'Environment="ASSISTANT_HOME=/srv/a b"' in service and "$" not in service
    sock = (unit_dir / "assistant.socket").read_text()
    assert "ListenStream=%t/assistant/assistant.sock" in sock and "SocketMode=0600" in sock
    assert set(res.files) == {unit_dir / "assistant.service", unit_dir / "assistant.socket"}
    if calls:  # systemctl exists here
        assert calls[-1] == ["systemctl", "--user", "enable", "--now", "assistant.socket"]
    gone = uninstall(_opts(tmp_path, "systemd", enable=False))
    assert len(gone.files) == 2 and not any(unit_dir.iterdir())


def test_launchd_plist_is_valid(tmp_path: Path) -> None:
    install(_opts(tmp_path, "launchd", enable=False))
    path = tmp_path / "Library/LaunchAgents/dev.assistant.daemon.plist"
    plist = plistlib.loads(path.read_bytes())
    assert plist["ProgramArguments"] == ["/opt/py/bin/python", "-m", "assistant.cli", "daemon", "run"]
    assert plist["EnvironmentVariables"] == {"ASSISTANT_HOME": "/srv/a b"} and plist["RunAtLoad"] is True
    uninstall(_opts(tmp_path, "launchd", enable=False))
    assert not path.exists()


def test_termux_boot_script(tmp_path: Path) -> None:
    res = install(_opts(tmp_path, "termux"))
    script = tmp_path / ".termux/boot/assistant-daemon"
    text = script.read_text()
    assert text.startswith("#!/data/data/com.termux/files/usr/bin/sh") and "termux-wake-lock" in text
    assert "export ASSISTANT_HOME='/srv/a b'" in text and 'exec "/opt/py/bin/python" -m assistant.cli' in text
    assert script.stat().st_mode & 0o100 and any("Termux:Boot" in n for n in res.notes)


def test_unknown_platform(tmp_path: Path) -> None:
    from runtime.errors import ConfigError

    with pytest.raises(ConfigError):
        install(_opts(tmp_path, "windows-service"))
