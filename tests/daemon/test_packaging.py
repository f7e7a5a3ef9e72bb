"""Service files for systemd, launchd and Termux:Boot, written into a temporary home."""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Sequence

import pytest

from assistant.daemon.packaging import InstallOptions, install, plan, read_template, uninstall
from runtime.errors import ConfigError


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
    with pytest.raises(ConfigError):
        install(_opts(tmp_path, "windows-service"))


def test_plan_renders_every_file_and_writes_nothing(tmp_path: Path) -> None:
    todo = plan(_opts(tmp_path, "systemd", socket_activation=True))
    unit_dir = tmp_path / ".config/systemd/user"
    texts = dict(todo.files)
    assert set(texts) == {unit_dir / "assistant.service", unit_dir / "assistant.socket"}
    assert (
        "ExecStart=/opt/py/bin/python -m assistant.cli daemon run --fd 3"
        in texts[unit_dir / "assistant.service"]
    )
    assert todo.commands[-1] == "systemctl --user enable --now assistant.socket"
    assert not any(tmp_path.iterdir())


def test_templates_are_package_data() -> None:
    from importlib.resources import files

    for name in (
        "systemd/assistant.service",
        "systemd/assistant.socket",
        "launchd/dev.assistant.daemon.plist",
    ):
        assert read_template(name) == (files("assistant.daemon") / "templates" / name).read_text()
    with pytest.raises(ConfigError, match="missing from the installed package"):
        read_template("systemd/no-such.service")


def test_cli_install_dry_run_prints_the_unit_and_writes_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from assistant.cli import main

    env = {"HOME": str(tmp_path), "ASSISTANT_HOME": str(tmp_path / "a")}
    res = CliRunner().invoke(main, ["daemon", "install", "--dry-run", "--platform", "systemd"], env=env)
    assert res.exit_code == 0, res.output
    assert f"# would write {tmp_path}/.config/systemd/user/assistant.service:" in res.output
    assert "-m assistant.cli daemon run" in res.output and "would run: systemctl --user enable" in res.output
    assert not (tmp_path / ".config").exists()
