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
        assert rows["git"][1:] == ["on", "every 120 s", "/src/webapp"]
        assert rows["browser"][1] == "off" and rows["shell"][2] == "by shell hook"
