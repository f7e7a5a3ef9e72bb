"""The app registry and `assistant apps ...`: hashes only, scopes checked, survives a restart."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.daemon.apps import AppRegistry, ensure_owner_token, hash_token
from runtime.errors import ConfigError, InvalidName


def test_only_the_hash_is_stored_and_it_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "apps.json"
    token = AppRegistry(path).add("editor", "chat,autocomplete")
    raw = path.read_text()
    assert token not in raw and hash_token(token) in raw
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = AppRegistry(path)  # a new process, in effect
    app = again.identify(token)
    assert app is not None and app.name == "editor" and app.scopes == {"chat", "autocomplete"}
    assert app.allows("chat") and not app.allows("memory:write")
    assert again.identify(token + "x") is None and again.identify("not-a-token") is None
    assert again.revoke("editor") and AppRegistry(path).identify(token) is None


def test_bad_names_scopes_and_duplicates(tmp_path: Path) -> None:
    reg = AppRegistry(tmp_path / "apps.json")
    with pytest.raises(InvalidName):
        reg.add("../evil", "chat")
    with pytest.raises(ConfigError, match="unknown scope"):
        reg.add("x", "chat,root")
    reg.add("x", "chat")
    with pytest.raises(ConfigError, match="already registered"):
        reg.add("x", "chat")


def test_owner_token_is_reused_and_private(tmp_path: Path) -> None:
    reg = AppRegistry(tmp_path / "apps.json")
    t1 = ensure_owner_token(reg, tmp_path / "owner.token")
    assert ensure_owner_token(AppRegistry(tmp_path / "apps.json"), tmp_path / "owner.token") == t1
    assert stat.S_IMODE(os.stat(tmp_path / "owner.token").st_mode) == 0o600
    assert reg.identify(t1).allows("memory:write")  # type: ignore[union-attr]


def test_cli_add_list_revoke(tmp_path: Path) -> None:
    env = {"ASSISTANT_HOME": str(tmp_path)}
    r = CliRunner().invoke(main, ["apps", "add", "notes", "--scopes", "memory:read,chat"], env=env)
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[0]
    assert token.startswith("ast_")
    listed = CliRunner().invoke(main, ["apps", "list", "--json"], env=env)
    assert json.loads(listed.output) == [
        {
            "name": "notes",
            "scopes": ["memory:read", "chat"],
            "created_at": json.loads(listed.output)[0]["created_at"],
        }
    ]
    assert token not in listed.output
    bad = CliRunner().invoke(main, ["apps", "add", "x", "--scopes", "everything"], env=env)
    assert bad.exit_code == 1 and "unknown scope" in bad.output and "traceback" not in bad.output.lower()
    assert CliRunner().invoke(main, ["apps", "revoke", "notes"], env=env).exit_code == 0
    assert CliRunner().invoke(main, ["apps", "revoke", "notes"], env=env).exit_code == 1


def test_cli_revoke_removes_the_apps_memory_grant(tmp_path: Path) -> None:
    env = {"ASSISTANT_HOME": str(tmp_path)}
    run = lambda *args: CliRunner().invoke(main, list(args), env=env)  # noqa: E731
    assert run("apps", "add", "spy", "--scopes", "memory:read").exit_code == 0
    granted = run("memory", "grant", "spy")
    assert granted.exit_code == 0, granted.output
    r = run("apps", "revoke", "spy")
    assert r.exit_code == 0 and "cross-app memory grant" in r.output, r.output
    stats = json.loads(run("memory", "stats", "--json").stdout)
    assert stats["grants"] == []
    # revoking an app that holds no grant opens no memory and says nothing about one
    assert run("apps", "add", "other", "--scopes", "chat").exit_code == 0
    assert run("apps", "revoke", "other").output.strip() == "revoked other"
