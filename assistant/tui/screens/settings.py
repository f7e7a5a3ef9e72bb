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
        """List every connector: on or off, how often it runs, the folders it reads and, from the
        memory database when there is one, its last run: when, what it read last and how much."""
        from runtime.errors import AssistantError
        from skills.memory import connectors
        from skills.memory.connectors.config import ConnectorConfig

        t = self.query_one("#connectors-table", DataTable)
        for label, key in (("connector", "name"), ("state", "state"), ("runs", "runs"), ("last run", "last")):
            t.add_column(label, key=key)
        t.add_column("reads", key="reads")
        try:
            settings = ConnectorConfig(cfg.config_dir).load()
        except AssistantError as exc:
            t.add_row("(settings)", "unreadable", "", "", exc.message)
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
                "never",
                ", ".join(s.paths) if s and s.paths else conn.description,
                key=name,
            )
        db = cfg.data_dir / "memory.db"
        if db.exists():  # never create a database just to show that nothing ran
            self.run_worker(lambda: self._load_status(db), thread=True, group="connector-status")

    def _load_status(self, db: Any) -> None:
        """Read every connector's last-run record (worker thread: opening the database takes a moment)."""
        import warnings

        from skills.memory import MemoryOptions, MemorySkill, StoreOptions
        from skills.memory.connectors import names
        from skills.memory.connectors.runner import load_status

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mem = MemorySkill(MemoryOptions(StoreOptions(db), background=False))
            try:
                status = {n: load_status(mem, n) for n in names()}
            finally:
                mem.close()
        except Exception as exc:  # a locked or unreadable database: the table keeps "never"
            status = {"": {"error": str(exc)}}
        self.app.call_from_thread(self._show_status, status)

    def _show_status(self, status: dict[str, dict[str, Any]]) -> None:
        import time

        t = self.query_one("#connectors-table", DataTable)
        for name, st in status.items():
            if "last_run" not in st:
                continue
            when = time.strftime("%m-%d %H:%M", time.localtime(st["last_run"]))
            what = (
                f"error: {st['error']}"
                if st.get("error")
                else f"{st.get('stored', 0)} new, {st.get('total', 0)} in all; last: {st.get('last', '')}"
            )
            t.update_cell(name, "last", f"{when}: {what}"[:80])
