"""Voice input: record a few seconds from the microphone, or pick an audio file; the transcript
goes into the chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

if TYPE_CHECKING:
    from assistant.tui.app import AssistantApp


class VoiceDialog(ModalScreen["str | None"]):
    """Returns the transcript, or None when cancelled."""

    BINDINGS = [("escape", "dismiss_none", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="voice-dialog"):
            yield Label("Voice input", classes="title")
            with Horizontal():
                yield Button("Record 5 s", id="record", variant="primary")
                yield Input(placeholder="or an audio file path", id="voice-path")
                yield Button("Use file", id="voice-file")
            yield Static("", id="voice-status")

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#record")
    def record(self) -> None:
        self.query_one("#voice-status", Static).update("listening…")
        self.transcribe(None)

    @on(Button.Pressed, "#voice-file")
    @on(Input.Submitted, "#voice-path")
    def from_file(self) -> None:
        path = self.query_one("#voice-path", Input).value.strip()
        if path:
            self.query_one("#voice-status", Static).update("transcribing…")
            self.transcribe(path)

    @work(thread=True, exclusive=True)
    def transcribe(self, path: str | None) -> None:
        app: AssistantApp = self.app  # type: ignore[assignment]
        try:
            text = app.backend.transcribe(path)
        except Exception as exc:  # no microphone, unreadable file: say so, stay open
            msg = str(exc) + (" — give an audio file instead" if path is None else "")
            self.app.call_from_thread(self.query_one("#voice-status", Static).update, f"[red]{msg}[/]")
            return
        if not text:
            self.app.call_from_thread(self.query_one("#voice-status", Static).update, "heard no speech")
            return
        self.app.call_from_thread(self.dismiss, text)
