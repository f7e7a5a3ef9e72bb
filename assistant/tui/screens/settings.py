"""Settings: what the runtime is using, and where its files live."""

from __future__ import annotations


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
        yield Footer()

    def on_mount(self) -> None:
        app = self.assistant_app
        cfg = app.backend.config
        t = self.query_one(DataTable)
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
