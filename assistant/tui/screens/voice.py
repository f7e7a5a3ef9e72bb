"""Voice: a spoken conversation screen (hands-free or push to talk, barge-in, transcript, memory
used and latency per turn), and the chat screen's voice input dialog (record a few seconds or pick
an audio file; the transcript goes into the chat)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, Static

from assistant.tui.screens.base import AppScreen
from assistant.tui.voice_session import VoiceSession, VoiceSettings
from runtime.errors import AssistantError

if TYPE_CHECKING:
    from assistant.tui.app import AssistantApp
    from skills.voice.loop import VoiceEvent


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


class VoiceTurnView(Vertical):
    """One spoken turn: what was heard, who a pronoun meant, the answer as it is written, the memory
    it used, and where the time went."""

    def __init__(self, turn: int, heard: str) -> None:
        super().__init__(classes="voice-turn")
        self.turn = turn
        self.heard = heard
        self.answer = ""
        self.citations = ""
        self.notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("you", classes="who user")
        yield Static(self.heard, classes="heard", markup=False)
        yield Static("", classes="note hidden", markup=False)
        yield Label("assistant", classes="who assistant")
        yield Static("…", classes="answer", markup=False)
        yield Static("", classes="citations hidden", markup=False)
        yield Static("", classes="stats hidden", markup=False)

    def _show(self, cls: str, text: str) -> None:
        box = self.query_one(f".{cls}", Static)
        box.update(text)
        box.set_class(not text, "hidden")

    def add_note(self, text: str) -> None:
        self.notes.append(text)
        self._show("note", "\n".join(f"({n})" for n in self.notes))

    def add_text(self, piece: str) -> None:
        self.answer += piece
        self.query_one(".answer", Static).update(self.answer.strip() or "…")

    def set_citations(self, text: str) -> None:
        self.citations = text
        self._show("citations", text)

    def set_stats(self, text: str) -> None:
        self._show("stats", text)


STATES = {
    "listening": "listening — speak when you are ready",
    "speech_start": "hearing you…",
    "utterance": "transcribing…",
    "transcript": "thinking…",
    "sentence": "speaking…",
    "no_speech": "heard no words — listening",
    "turn_done": "listening",
}


class VoiceScreen(AppScreen):
    """A spoken conversation: hands-free (the VAD finds where you stop) or push to talk, with
    barge-in, the transcript, the memory each answer used, and its voice-to-voice latency."""

    BINDINGS = [
        Binding("ctrl+l", "listen", "Listen"),
        Binding("ctrl+t", "talk", "Talk"),
        Binding("escape", "stop", "Stop"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session: VoiceSession | None = None
        self.talking = False
        self.turns: dict[int, VoiceTurnView] = {}
        self.conversation: int | None = None
        self.barge_ins = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            with Horizontal(id="voice-bar"):
                yield Button("Listen", id="voice-listen", variant="primary")
                yield Button("Talk", id="voice-talk", disabled=True)
                yield Button("Stop", id="voice-stop", variant="error", disabled=True)
                yield Select(
                    [("hands-free", "hands-free"), ("push to talk", "push-to-talk")],
                    value="hands-free",
                    allow_blank=False,
                    id="voice-mode",
                )
                yield Checkbox("barge-in", True, id="voice-barge-in")
            yield Input(
                placeholder="microphone, or answer a recording: path to a WAV/MP3", id="voice-recording"
            )
            yield Static("Listen (Ctrl+L) starts a spoken conversation", id="voice-state")
            yield VerticalScroll(id="voice-log")
        yield Footer()

    # -- controls -----------------------------------------------------------------------------------
    def _state(self, text: str, style: str = "") -> None:
        self.query_one("#voice-state", Static).update(Text(text, style=style))

    @on(Button.Pressed, "#voice-listen")
    @on(Input.Submitted, "#voice-recording")
    def action_listen(self) -> None:
        if self.session is not None:
            return
        path = self.query_one("#voice-recording", Input).value.strip() or None
        mode = self.query_one("#voice-mode", Select).value
        settings = VoiceSettings(
            path=path,
            mode="push-to-talk" if mode == "push-to-talk" else "hands-free",
            barge_in=self.query_one("#voice-barge-in", Checkbox).value,
        )
        try:
            session = self.backend.voice_session(settings)
        except AssistantError as exc:  # no microphone, unreadable recording: one line, nothing starts
            hint = " — give a recording path instead" if path is None else ""
            self._state(f"{exc.message}{hint}", "red")
            return
        self.session = session
        self.talking = False
        self._controls(running=True, ptt=settings.mode == "push-to-talk")
        self._state(f"loading the voice and the models… ({session.output})")
        self.run_session(session)

    def _controls(self, running: bool, ptt: bool = False) -> None:
        self.query_one("#voice-listen", Button).disabled = running
        self.query_one("#voice-stop", Button).disabled = not running
        talk = self.query_one("#voice-talk", Button)
        talk.disabled = not (running and ptt)
        talk.label = "Talk"
        for setting in ("#voice-mode", "#voice-barge-in", "#voice-recording"):  # fixed while it runs
            self.query_one(setting).disabled = running

    @on(Button.Pressed, "#voice-talk")
    def action_talk(self) -> None:
        session = self.session
        if session is None or self.query_one("#voice-talk", Button).disabled:
            return
        self.talking = not self.talking
        if self.talking:
            session.press()
            self._state("talking — press Talk (Ctrl+T) again when you are done")
        else:
            session.release()
            self._state("transcribing…")
        self.query_one("#voice-talk", Button).label = "Done" if self.talking else "Talk"

    @on(Button.Pressed, "#voice-stop")
    def action_stop(self) -> None:
        if self.session is not None:
            self.session.stop()
            self._state("stopping…")

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.stop()

    # -- the conversation ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="voice")
    def run_session(self, session: VoiceSession) -> None:
        error = ""
        try:
            for ev in session.events():
                self.app.call_from_thread(self.on_voice_event, ev)
        except Exception as exc:  # a broken voice or model is a line on the screen, never a crash
            error = str(exc)
        self.app.call_from_thread(self._finished, session, error)

    def _finished(self, session: VoiceSession, error: str) -> None:
        if self.session is session:
            self.session = None
        self._controls(running=False)
        self._state(error or f"stopped ({session.output})", "red" if error else "")

    def on_voice_event(self, ev: VoiceEvent) -> None:
        """Show one event of the loop (called on the UI thread)."""
        log = self.query_one("#voice-log", VerticalScroll)
        view = self.turns.get(ev.turn)
        if ev.kind in STATES and not (ev.kind == "listening" and self._ptt):
            self._state(STATES[ev.kind])
        elif ev.kind == "listening":
            self._state("press Talk (Ctrl+T) and speak; press it again when you are done")
        if ev.kind == "transcript":
            view = self.turns[ev.turn] = VoiceTurnView(ev.turn, ev.text)
            log.mount(view)
        elif view is None:
            if ev.kind == "no_speech":
                self.notify("heard no words", timeout=3)
            return
        elif ev.kind == "resolved":
            view.add_note(ev.text)
        elif ev.kind == "token":
            view.add_text(ev.text)
        elif ev.kind == "citations":
            view.set_citations(ev.text)
        elif ev.kind == "barge_in":
            self.barge_ins += 1
            heard = float(ev.text or 0)
            view.add_note(
                f"you spoke: the answer stopped after {heard:.1f} s"
                if heard >= 0.1
                else "you spoke: the answer was dropped before it was spoken"
            )
            self._state("hearing you…")
        elif ev.kind == "turn_done" and ev.stats is not None:
            s = ev.stats
            view.set_stats(
                f"voice to voice {s.voice_to_voice:.2f} s · end of speech {s.eou:.2f} · stt {s.stt:.2f} · "
                f"prompt {s.prompt:.2f} · first sentence {s.first_sentence:.2f} · tts {s.tts:.2f}"
            )
            self._remember(view, ev.text)
        log.scroll_end(animate=False)

    @property
    def _ptt(self) -> bool:
        return not self.query_one("#voice-talk", Button).disabled

    def _remember(self, view: VoiceTurnView, answer: str) -> None:
        """Keep the spoken turns as a conversation, so they can be read again on the chat screen."""
        store = self.assistant_app.conversations
        if self.conversation is None:
            self.conversation = store.create(f"Voice: {view.heard}"[:40]).id
        store.add(self.conversation, "user", view.heard)
        store.add(self.conversation, "assistant", answer.strip() or "(no answer)", view.citations)
