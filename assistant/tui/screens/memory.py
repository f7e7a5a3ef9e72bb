"""Memory: search and resolve, a timeline by app, event details, forget (event, app, time range),
pause/resume capture and retention."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Header, Input, Select, Static

from assistant.tui.screens.base import AppScreen


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


class MemoryScreen(AppScreen):
    """Everything other apps told the assistant, under the user's control."""

    BINDINGS = [
        ("ctrl+f", "focus_search", "Search"),
        ("delete", "forget_event", "Forget event"),
        ("f8", "toggle_pause", "Pause/resume capture"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            with Horizontal(id="memory-bar"):
                yield Input(placeholder="search, or a reference like “that file” / “her”", id="memory-query")
                yield Button("Search", id="memory-search", variant="primary")
                yield Button("Resolve", id="memory-resolve")
                yield Select([("all apps", "")], value="", id="memory-app", allow_blank=False)
            yield DataTable(id="memory-table", cursor_type="row")
            yield Static("", id="memory-detail")
            with Horizontal(id="memory-actions"):
                yield Button("Forget event", id="forget-event", variant="error")
                yield Button("Forget app", id="forget-app", variant="error")
                yield Button("Forget last hour", id="forget-hour", variant="error")
                yield Button("Pause capture", id="pause")
                yield Input(placeholder="retention days", id="retention", type="integer")
                yield Button("Set retention", id="set-retention")
            yield Static("", id="memory-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#memory-table", DataTable).add_columns("id", "when", "app", "kind", "title", "why")
        self.refresh_timeline()

    def action_focus_search(self) -> None:
        self.query_one("#memory-query", Input).focus()

    def _app_filter(self) -> str | None:
        v = self.query_one("#memory-app", Select).value
        return str(v) if v else None

    # -- loading rows -------------------------------------------------------------------------------
    @on(Select.Changed, "#memory-app")
    @work(thread=True, exclusive=True, group="memory")
    def refresh_timeline(self) -> None:
        events = self.backend.memory_browse(self._app_filter())
        stats = self.backend.memory_stats()
        rows = [(e, "") for e in events]
        self.app.call_from_thread(self._fill, rows, stats)

    @on(Input.Submitted, "#memory-query")
    def submitted(self) -> None:
        """Enter does what the text asks: a reference ("that file", "her", "the PDF from yesterday")
        is resolved, anything else is searched as words; the status line says which."""
        from skills.memory.resolve import looks_like_reference  # the memory skill loads lazily

        q = self.query_one("#memory-query", Input).value.strip()
        if not q:
            self.refresh_timeline()
        elif looks_like_reference(q):
            self.run_query(q, resolve=True)
        else:
            self.run_query(q, resolve=False)

    @on(Button.Pressed, "#memory-search")
    def search(self) -> None:
        q = self.query_one("#memory-query", Input).value.strip()
        if q:
            self.run_query(q, resolve=False)
        else:
            self.refresh_timeline()

    @on(Button.Pressed, "#memory-resolve")
    def resolve(self) -> None:
        q = self.query_one("#memory-query", Input).value.strip()
        if q:
            self.run_query(q, resolve=True)

    @work(thread=True, exclusive=True, group="memory")
    def run_query(self, q: str, resolve: bool) -> None:
        if resolve:
            rows = [(c.event, "; ".join(c.reasons)) for c in self.backend.memory_resolve(q)]
            did = f"resolved “{q}” as a reference (the Search button searches its words)"
        else:
            rows = [
                (h.event, f"score {h.score:.2f}") for h in self.backend.memory_search(q, self._app_filter())
            ]
            did = f"searched for the words “{q}” (the Resolve button reads it as a reference)"
        self.app.call_from_thread(self._fill, rows, self.backend.memory_stats(), did)

    def _fill(self, rows: list[tuple[Any, str]], stats: dict[str, Any], did: str = "") -> None:
        t = self.query_one("#memory-table", DataTable)
        t.clear()
        self._events = {e.id: e for e, _ in rows}
        for e, why in rows:
            t.add_row(str(e.id), _when(e.created), e.app, e.kind, e.title[:60], why, key=str(e.id))
        sel = self.query_one("#memory-app", Select)
        apps = sorted(stats.get("apps", {}) if isinstance(stats.get("apps"), dict) else stats.get("apps", []))
        current = sel.value
        sel.set_options([("all apps", ""), *[(a, a) for a in apps]])
        sel.value = current if current in ("", *apps) else ""
        paused = bool(stats.get("paused"))
        self.query_one("#pause", Button).label = "Resume capture" if paused else "Pause capture"
        self.query_one("#memory-status", Static).update(
            (f"{did} · " if did else "")
            + f"{stats.get('events', len(rows))} events · {'paused' if paused else 'capturing'} · "
            f"{'encrypted (SQLCipher)' if stats.get('encrypted') else 'NOT encrypted'}"
        )

    @on(DataTable.RowHighlighted, "#memory-table")
    def show(self, event: DataTable.RowHighlighted) -> None:
        e = getattr(self, "_events", {}).get(int(event.row_key.value or 0))
        if e is not None:
            ents = e.entities.to_dict() if e.entities is not None else {}
            who = ", ".join(v for vs in ents.values() for v in vs)
            self.query_one("#memory-detail", Static).update(
                f"[b]{e.title}[/b]  ({e.app} · {e.kind} · {_when(e.created)})\n{e.body[:400]}\n{e.uri}"
                + (f"\nmentions: {who}" if who else "")
            )

    def _selected(self) -> Any:
        t = self.query_one("#memory-table", DataTable)
        if t.row_count == 0:
            return None
        key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        return getattr(self, "_events", {}).get(int(key or 0))

    # -- control ----------------------------------------------------------------------------------------
    @on(Button.Pressed, "#forget-event")
    def action_forget_event(self) -> None:
        e = self._selected()
        if e is not None:
            self.forget(ids=(e.id,))

    @on(Button.Pressed, "#forget-app")
    def forget_app(self) -> None:
        e = self._selected()
        app = self._app_filter() or (e.app if e is not None else None)
        if app:
            self.forget(app=app)

    @on(Button.Pressed, "#forget-hour")
    def forget_hour(self) -> None:
        self.forget(since=time.time() - 3600)

    @work(thread=True, exclusive=True, group="memory-control")
    def forget(self, **what: Any) -> None:
        n = self.backend.memory_forget(**what)
        self.app.notify(f"forgot {n} event(s)")
        self.refresh_timeline()

    @on(Button.Pressed, "#pause")
    @work(thread=True, exclusive=True, group="memory-control")
    def action_toggle_pause(self) -> None:
        paused = bool(self.backend.memory_stats().get("paused"))
        self.backend.memory_pause(not paused)
        self.refresh_timeline()

    @on(Button.Pressed, "#set-retention")
    @work(thread=True, exclusive=True, group="memory-control")
    def set_retention(self) -> None:
        raw = self.query_one("#retention", Input).value.strip()
        if raw.isdigit() and int(raw) > 0:
            purged = self.backend.memory_retention(float(raw))
            self.app.notify(f"retention {raw} days; purged {purged} expired event(s)")
            self.refresh_timeline()
