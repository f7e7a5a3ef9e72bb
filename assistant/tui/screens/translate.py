"""Translate: a text pane that translates as you type, and live captions from the microphone or a
file, with lag and real-time ratio."""

from __future__ import annotations

import threading

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static, TextArea

from assistant.tui.widgets.captions import CaptionsView

from assistant.tui.screens.base import AppScreen


LANGS = [
    ("English", "en"),
    ("Portuguese", "pt"),
    ("Spanish", "es"),
    ("French", "fr"),
    ("German", "de"),
    ("Italian", "it"),
]


class TranslateScreen(AppScreen):
    """Text translation and live captions."""

    # the first keys typed go into the text, not into the language dropdown
    AUTO_FOCUS = "#source-text"

    BINDINGS = [
        ("ctrl+l", "captions_file", "Captions from file"),
        ("ctrl+k", "captions_stop", "Stop captions"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._debounce: Timer | None = None
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            with Horizontal(id="translate-bar"):
                yield Label("from", classes="title")
                yield Select([("detect", "auto"), *LANGS], value="auto", id="source", allow_blank=False)
                yield Label("to", classes="title")
                yield Select(LANGS, value="pt", id="target", allow_blank=False)
                yield Static("", id="translate-info")
            with Horizontal(id="translate-panes"):
                yield TextArea(id="source-text", soft_wrap=True)
                yield Static("", id="target-text")
            yield Label("Live captions", classes="title")
            with Horizontal(id="captions-bar"):
                yield Button("Microphone", id="mic")
                yield Input(placeholder="audio file (wav, mp3, …)", id="audio-path")
                yield Button("File", id="file")
                yield Button("Stop", id="captions-stop", disabled=True)
                yield Static("", id="captions-stats")
            yield CaptionsView(id="captions")
        yield Footer()

    # -- text ---------------------------------------------------------------------------------
    @on(TextArea.Changed, "#source-text")
    @on(Select.Changed)
    def schedule(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.35, self.translate_now)

    def translate_now(self) -> None:
        text = self.query_one("#source-text", TextArea).text
        if text.strip():
            self.run_translation(
                text,
                str(self.query_one("#source", Select).value),
                str(self.query_one("#target", Select).value),
            )

    @work(thread=True, exclusive=True, group="translate")
    def run_translation(self, text: str, source: str, target: str) -> None:
        out = self.query_one("#target-text", Static)
        info = self.query_one("#translate-info", Static)
        parts: list[str] = []
        stream = self.backend.translate(text, target, source)
        try:
            while True:
                try:
                    chunk = next(stream)
                except StopIteration as stop:
                    result = stop.value
                    break
                parts.append(chunk.text)
                self.app.call_from_thread(out.update, "".join(parts))
        except Exception as exc:  # the message carries the fix (e.g. how to add a language pair)
            self.app.call_from_thread(out.update, f"[red]{exc}[/]")
            self.app.call_from_thread(info.update, "")
            return
        label = f"{result.engine} · {result.seconds * 1000:.0f} ms"
        if result.detected is not None:
            label = f"detected {result.detected.language} · " + label
        if result.quality == "lower":
            label += " · [yellow]lower quality (general chat model)[/]"
        self.app.call_from_thread(info.update, label)

    # -- captions ---------------------------------------------------------------------------------------
    @on(Button.Pressed, "#mic")
    def captions_mic(self) -> None:
        self.start_captions(None)

    @on(Button.Pressed, "#file")
    @on(Input.Submitted, "#audio-path")
    def action_captions_file(self) -> None:
        path = self.query_one("#audio-path", Input).value.strip()
        if not path:
            self.query_one("#audio-path", Input).focus()
            return
        self.start_captions(path)

    def start_captions(self, path: str | None) -> None:
        self.query_one(CaptionsView).clear_captions()
        self._stop = threading.Event()
        self.query_one("#captions-stop", Button).disabled = False
        target = str(self.query_one("#target", Select).value)
        self.run_captions(path, None if target == "en" else target, self._stop)

    @on(Button.Pressed, "#captions-stop")
    def action_captions_stop(self) -> None:
        self._stop.set()

    @work(thread=True, exclusive=True, group="captions")
    def run_captions(self, path: str | None, translate_to: str | None, stop: threading.Event) -> None:
        view = self.query_one(CaptionsView)
        stats = self.query_one("#captions-stats", Static)
        try:
            for ev in self.backend.captions(path, translate_to, stop):
                self.app.call_from_thread(view.add_event, ev.kind, ev.text)
                self.app.call_from_thread(
                    stats.update,
                    f"lag {ev.lag:.1f} s · RTF {ev.rtf:.2f}" + (f" · {ev.note}" if ev.note else ""),
                )
        except Exception as exc:  # e.g. no microphone: say so and offer a file
            msg = str(exc)
            if path is None:
                msg += " — type an audio file path and press File instead"
            self.app.call_from_thread(stats.update, f"[red]{msg}[/]")
        self.app.call_from_thread(self._captions_done)

    def _captions_done(self) -> None:
        self.query_one("#captions-stop", Button).disabled = True
