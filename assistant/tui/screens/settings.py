"""Settings: what the runtime is using, and where its files live."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Label, Static

from assistant.tui.screens.base import AppScreen


class SettingsScreen(AppScreen):
    """Current settings (set through environment variables; see README)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Label("Settings", classes="title")
            yield Static(
                "Change these with environment variables (see README › Settings) and restart.", classes="hint"
            )
            yield DataTable(id="settings-table", cursor_type="row")
            yield Static(
                "Connectors (off until enabled: `assistant connectors enable NAME`, status: "
                "`assistant connectors status`)",
                classes="hint",
            )
            yield DataTable(id="connectors-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        app = self.assistant_app
        cfg = app.backend.config
        t = self.query_one("#settings-table", DataTable)
        t.add_columns("setting", "value", "variable")
        rows = [
            ("chat model", cfg.chat_model, "ASSISTANT_CHAT_MODEL"),
            ("small / autocomplete model", cfg.small_model, "ASSISTANT_SMALL_MODEL"),
            ("forced device", cfg.device or "auto", "ASSISTANT_DEVICE"),
            ("threads", str(cfg.threads or "auto"), "ASSISTANT_THREADS"),
            (
                "memory budget",
                f"{cfg.memory_budget / 2**30:.1f} GiB" if cfg.memory_budget else "half of RAM",
                "ASSISTANT_MEMORY_BUDGET",
            ),
            ("keep-alive", f"{cfg.keep_alive:.0f} s", "ASSISTANT_KEEP_ALIVE"),
            ("models folder", str(cfg.models_dir), "ASSISTANT_MODELS_DIR"),
            ("data folder", str(cfg.data_dir), "ASSISTANT_HOME"),
            ("backend", app.backend.describe(), ""),
        ]
        for r in rows:
            t.add_row(*r)
        self._connectors(cfg)

    def _connectors(self, cfg: Any) -> None:
        """List every connector: on or off, how often it runs, and the folders it reads."""
        from runtime.errors import AssistantError
        from skills.memory import connectors
        from skills.memory.connectors.config import ConnectorConfig

        t = self.query_one("#connectors-table", DataTable)
        t.add_columns("connector", "state", "runs", "reads")
        try:
            settings = ConnectorConfig(cfg.config_dir).load()
        except AssistantError as exc:
            t.add_row("(settings)", "unreadable", "", exc.message)
            return
        for name in connectors.names():
            conn = connectors.get(name)
            s = settings.get(name)
            on = bool(s and s.enabled)
            every = (s.interval if s and s.interval else conn.interval) if conn.interval else 0
            t.add_row(
                name,
                "on" if on else "off",
                f"every {every:g} s" if every else "by shell hook",
                ", ".join(s.paths) if s and s.paths else conn.description,
            )
