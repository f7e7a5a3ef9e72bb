"""The TUI's settings screen lists every connector with its state, driven by Pilot."""

from __future__ import annotations

from pathlib import Path

from assistant.tui.app import AssistantApp
from assistant.tui.conversations import ConversationStore
from assistant.tui.fake_backend import FakeBackend
from runtime.config import Config
from skills.memory.connectors import names
from skills.memory.connectors.config import ConnectorConfig


async def test_settings_screen_lists_connectors(tmp_path: Path) -> None:
    from textual.widgets import DataTable

    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path / "home")})
    ConnectorConfig(cfg.config_dir).update("git", enabled=True, paths=("/src/webapp",))
    app = AssistantApp(FakeBackend(cfg), ConversationStore(tmp_path / "conv.db"), warm=False)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("f5")
        await pilot.pause(0.3)
        table = app.screen.query_one("#connectors-table", DataTable)
        rows = {table.get_row_at(i)[0]: table.get_row_at(i) for i in range(table.row_count)}
        assert set(rows) == set(names())
        assert rows["git"][1:] == ["on", "every 120 s", "never", "/src/webapp"]
        assert rows["browser"][1] == "off" and rows["shell"][2] == "by shell hook"


async def test_settings_screen_shows_each_connectors_last_run(tmp_path: Path) -> None:
    import time

    from textual.widgets import DataTable

    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.connectors.base import FakeConnector
    from skills.memory.connectors.runner import make_context, run_once

    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path / "home")})
    mem = MemorySkill(
        MemoryOptions(StoreOptions(cfg.data_dir / "memory.db", key_source="file"), background=False)
    )
    fake = FakeConnector(
        [{"kind": "note", "title": "Standup notes"}, {"kind": "note", "title": "Retro notes"}]
    )
    fake.name = "git"  # stands in for git's status record
    run_once(mem, fake, make_context(cfg, ConnectorConfig(cfg.config_dir).get("git")))
    mem.close()
    app = AssistantApp(FakeBackend(cfg), ConversationStore(tmp_path / "conv.db"), warm=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("f5")
        table = app.screen.query_one("#connectors-table", DataTable)
        deadline = time.time() + 20
        while time.time() < deadline and table.get_cell("git", "last") == "never":
            await pilot.pause(0.1)
        cell = table.get_cell("git", "last")
        assert "2 new, 2 in all; last: Retro notes" in cell, cell
        assert table.get_cell("browser", "last") == "never"
