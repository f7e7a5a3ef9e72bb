"""The one endpoint table: unique, valid, every entry served, and the CLI documented."""

from __future__ import annotations

from click.testing import CliRunner

import assistant.api as api
from assistant.api import ENDPOINTS, SCOPES
from assistant.cli import main
from assistant.daemon.handlers import collect


def test_table_is_unique_and_valid() -> None:
    assert len({e.name for e in ENDPOINTS}) == len(ENDPOINTS)
    assert len({(e.method, e.path) for e in ENDPOINTS}) == len(ENDPOINTS)
    for e in ENDPOINTS:
        assert e.path.startswith("/") and (e.scope == "" or e.scope in SCOPES)
        assert (e.request is None) == (e.method == "GET"), e.name
        assert e.stream is None or e.request is not None
    assert [e.name for e in ENDPOINTS if e.open_on_unix] == ["health"]


def test_every_endpoint_has_a_handler_and_all_is_complete() -> None:
    assert set(collect()) == {e.name for e in ENDPOINTS}
    assert set(api.__all__) <= set(dir(api))
    assert "assistant/daemon/handlers/<skill>.py" in (api.__doc__ or "")


def test_every_command_has_help() -> None:
    for group in ("daemon", "apps"):
        r = CliRunner().invoke(main, [group, "--help"])
        assert r.exit_code == 0
        cmd = main.get_command(None, group)  # type: ignore[arg-type]
        for name, sub in cmd.commands.items():  # type: ignore[union-attr]
            assert sub.help, f"{group} {name} has no help"
    assert main.get_command(None, "call").help  # type: ignore[arg-type, union-attr]
