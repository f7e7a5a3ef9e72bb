"""Models & devices: catalog and installed models, pull or add with a progress bar, and where each
engine runs and why."""

from __future__ import annotations

from typing import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, ProgressBar, Static

from assistant.tui.backend import ModelRow, Progress
from assistant.tui.screens.base import AppScreen


def _mb(n: int | None) -> str:
    return "-" if not n else f"{n / 1e6:,.0f} MB"


class ModelsScreen(AppScreen):
    """Catalogue, installs and devices."""

    BINDINGS = [
        ("p", "pull", "Pull selected"),
        ("a", "focus_add", "Add from path"),
        ("r", "refresh", "Refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Label("Models", classes="title")
            yield DataTable(id="models-table", cursor_type="row")
            with Horizontal(id="model-actions"):
                yield Button("Pull selected", id="pull", variant="primary")
                yield Input(
                    placeholder="path to a .gguf, .onnx, .argosmodel or CTranslate2 folder", id="add-path"
                )
                yield Button("Add", id="add")
            yield ProgressBar(id="progress", show_eta=True, classes="hidden")
            yield Static("", id="model-status")
            yield Label("Devices (first choice per engine, and why)", classes="title")
            yield DataTable(id="devices-table")
            yield Label("Loaded models", classes="title")
            yield DataTable(id="loaded-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#models-table", DataTable).add_columns(
            "id", "format", "roles", "size", "installed", "source"
        )
        self.query_one("#devices-table", DataTable).add_columns("engine", "device", "why")
        self.query_one("#loaded-table", DataTable).add_columns("model", "device", "memory")
        self.action_refresh()

    @work(thread=True, exclusive=True, group="models-refresh")
    def action_refresh(self) -> None:
        rows = self.backend.models()
        devices = self.backend.devices()
        loaded = self.backend.loaded()
        self.app.call_from_thread(self._fill, rows, devices, loaded)

    def _fill(
        self, rows: list[ModelRow], devices: list[tuple[str, str, str]], loaded: list[tuple[str, str, int]]
    ) -> None:
        t = self.query_one("#models-table", DataTable)
        t.clear()
        for r in rows:
            t.add_row(
                r.id,
                r.format,
                ", ".join(r.roles),
                _mb(r.size),
                "yes" if r.installed else "no",
                r.source.split(",")[0],
                key=r.id,
            )
        d = self.query_one("#devices-table", DataTable)
        d.clear()
        for fam, dev, why in devices:
            d.add_row(fam, dev, why)
        lt = self.query_one("#loaded-table", DataTable)
        lt.clear()
        for mid, dev, mem in loaded:
            lt.add_row(mid, dev, _mb(mem))

    @on(Button.Pressed, "#pull")
    def action_pull(self) -> None:
        t = self.query_one("#models-table", DataTable)
        if t.row_count == 0:
            return
        key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        if key:
            self.install(lambda progress: self.backend.pull(str(key), progress))

    def action_focus_add(self) -> None:
        self.query_one("#add-path", Input).focus()

    @on(Button.Pressed, "#add")
    @on(Input.Submitted, "#add-path")
    def add(self) -> None:
        path = self.query_one("#add-path", Input).value.strip()
        if path:
            self.install(lambda progress: self.backend.add(path, progress))

    @work(thread=True, exclusive=True, group="install")
    def install(self, job: Callable[[Progress], str]) -> None:
        bar = self.query_one("#progress", ProgressBar)
        status = self.query_one("#model-status", Static)
        self.app.call_from_thread(bar.remove_class, "hidden")

        def progress(stage: str, done: int, total: int) -> None:
            self.app.call_from_thread(bar.update, total=total or None, progress=done)
            self.app.call_from_thread(status.update, f"{stage}: {done / 1e6:,.1f} of {total / 1e6:,.1f} MB")

        try:
            msg = job(progress)
        except Exception as exc:  # shown to the user with its fix, never a traceback
            msg = f"[red]error:[/] {exc}"
        self.app.call_from_thread(status.update, msg)
        self.action_refresh()
