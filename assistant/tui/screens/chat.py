"""Chat: conversations kept in SQLite, streamed replies, a stop key, and voice input."""

from __future__ import annotations


from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, ListItem, ListView, Markdown, Static

from assistant.tui.conversations import Conversation, ConversationStore
from assistant.tui.widgets.ghost_input import GhostInput
from runtime.engines.base import CancelToken, ChatMessage

from assistant.tui.screens.base import AppScreen


SYSTEM = "You are a helpful, concise assistant running offline on the user's device."


class MessageView(Vertical):
    """One chat turn: who spoke, and the text rendered as Markdown."""

    def __init__(self, role: str, text: str = "", citations: str = "") -> None:
        super().__init__(classes=f"message {role}")
        self.role = role
        self.text = text
        self.citations = citations
        self.updates = 0  # how many times streamed text replaced the body

    def compose(self) -> ComposeResult:
        yield Label("you" if self.role == "user" else "assistant", classes="who")
        yield Markdown(self.text, classes="body")
        if self.citations:
            yield Static(self.citations, classes="citations")

    async def set_text(self, text: str) -> None:
        self.text = text
        self.updates += 1
        await self.query_one(Markdown).update(text)

    async def set_citations(self, citations: str) -> None:
        self.citations = citations
        if citations:
            await self.mount(Static(citations, classes="citations"))


class ConversationItem(ListItem):
    """A conversation in the sidebar."""

    def __init__(self, conv: Conversation) -> None:
        super().__init__(Label(conv.title))
        self.conv_id = conv.id


class ConversationList(ListView):
    """The sidebar list; Delete removes the highlighted conversation."""

    BINDINGS = [Binding("delete", "screen.delete_chat", "Delete chat")]


class ChatScreen(AppScreen):
    """The main screen."""

    BINDINGS = [
        Binding("escape", "stop", "Stop reply"),
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("ctrl+r", "rename", "Rename"),
        Binding("ctrl+o", "voice", "Voice"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cancel: CancelToken | None = None
        self.conversation: Conversation | None = None
        self.generating = False

    @property
    def store(self) -> ConversationStore:
        return self.assistant_app.conversations

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="sidebar"):
                yield Label("Conversations", classes="title")
                yield ConversationList(id="conversations")
                yield Input(placeholder="rename…", id="rename", classes="hidden")
            with Vertical(id="chat-pane"):
                yield VerticalScroll(id="messages")
                with Horizontal(id="composer"):
                    yield GhostInput(
                        self._suggest,
                        self._accepted,
                        placeholder="Ask anything — Tab accepts a suggestion",
                        id="prompt",
                    )
                    yield Button("Send", id="send", variant="primary")
                    yield Button("Stop", id="stop", variant="error", disabled=True)
                    yield Button("Voice", id="voice", tooltip="Voice input: microphone or a file")
        yield Footer()

    def on_mount(self) -> None:
        convs = self.store.list()
        self.conversation = convs[0] if convs else self.store.create()
        self.refresh_list()
        self.load_conversation()
        self.query_one("#prompt").focus()

    def _suggest(self, prefix: str) -> tuple[str | None, bool]:
        if len(prefix.strip()) < 3:
            return None, False
        return self.assistant_app.backend.suggest("assistant-tui", "chat", prefix)

    def _accepted(self, prefix: str, text: str) -> None:
        self.learn(prefix, text)

    @work(thread=True, group="learn")
    def learn(self, prefix: str, text: str) -> None:
        """Feed an accepted suggestion to local learning (never leaves the device)."""
        try:
            self.assistant_app.backend.accept("assistant-tui", "chat", prefix, text)
        except Exception:  # learning is best effort; typing must not notice
            pass

    # -- conversations ------------------------------------------------------------------------------
    def refresh_list(self) -> None:
        lv = self.query_one("#conversations", ListView)
        lv.clear()
        lv.extend(ConversationItem(c) for c in self.store.list())

    def load_conversation(self) -> None:
        box = self.query_one("#messages", VerticalScroll)
        box.remove_children()
        assert self.conversation is not None
        for m in self.store.messages(self.conversation.id):
            if m.role != "system":
                box.mount(MessageView(m.role, m.content, m.citations))
        self.sub_title = self.conversation.title

    @on(ListView.Selected, "#conversations")
    def pick(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ConversationItem) and not self.generating:
            conv_id = event.item.conv_id
            self.conversation = next(c for c in self.store.list() if c.id == conv_id)
            self.load_conversation()

    def action_new_chat(self) -> None:
        if self.generating:
            return
        self.conversation = self.store.create()
        self.refresh_list()
        self.load_conversation()

    def action_rename(self) -> None:
        box = self.query_one("#rename", Input)
        box.remove_class("hidden")
        box.value = self.conversation.title if self.conversation else ""
        box.focus()

    @on(Input.Submitted, "#rename")
    def do_rename(self, event: Input.Submitted) -> None:
        assert self.conversation is not None
        self.store.rename(self.conversation.id, event.value)
        self.conversation = next(c for c in self.store.list() if c.id == self.conversation.id)
        event.input.add_class("hidden")
        self.refresh_list()
        self.sub_title = self.conversation.title
        self.query_one("#prompt").focus()

    def action_delete_chat(self) -> None:
        lv = self.query_one("#conversations", ListView)
        item = lv.highlighted_child
        if self.generating or not isinstance(item, ConversationItem):
            return
        self.store.delete(item.conv_id)
        convs = self.store.list()
        self.conversation = convs[0] if convs else self.store.create()
        self.refresh_list()
        self.load_conversation()

    # -- sending ----------------------------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    @on(Button.Pressed, "#send")
    def send(self) -> None:
        box = self.query_one("#prompt", GhostInput)
        text = box.value.strip()
        if not text or self.generating:
            return
        box.value = ""
        self.ask(text)

    def ask(self, text: str, spoken: bool = False) -> None:
        """Add the user's turn and stream the reply (and say it aloud when the question was spoken)."""
        assert self.conversation is not None
        conv = self.conversation
        if not self.store.messages(conv.id) and conv.title == "New chat":
            self.store.rename(conv.id, text[:40])
            self.sub_title = text[:40]
            self.refresh_list()
        self.store.add(conv.id, "user", text)
        history = [ChatMessage("system", SYSTEM)] + [
            ChatMessage(m.role, m.content) for m in self.store.messages(conv.id)
        ]
        box = self.query_one("#messages", VerticalScroll)
        box.mount(MessageView("user", text))
        reply = MessageView("assistant", "…")
        box.mount(reply)
        box.scroll_end(animate=False)
        self.cancel = CancelToken()
        self._set_generating(True)
        self.stream_reply(history, reply, conv.id, self.cancel, spoken)

    @work(thread=True, exclusive=True, group="chat")
    def stream_reply(
        self,
        history: list[ChatMessage],
        view: MessageView,
        conv_id: int,
        cancel: CancelToken,
        spoken: bool = False,
    ) -> None:
        parts: list[str] = []
        error = None
        cites: list[str] = []
        try:
            stream = self.assistant_app.backend.chat(history, cancel)
            while True:
                try:
                    piece = next(stream)
                except StopIteration as stop:
                    cites = list(stop.value or [])
                    break
                parts.append(piece)
                # the ignores: mypy cannot solve call_from_thread's T | Awaitable[T] for an async callback
                self.app.call_from_thread(view.set_text, "".join(parts))  # type: ignore[arg-type]
        except Exception as exc:  # shown in the chat, never a traceback
            error = str(exc)
        text = "".join(parts)
        if cancel.cancelled:
            text += " _(stopped)_"
        if error:
            text += f"\n\n**error:** {error}"
        citations = "\n".join(f"source: {c}" for c in cites)
        self.store.add(conv_id, "assistant", text, citations)
        self.app.call_from_thread(view.set_text, text or "_(no reply)_")  # type: ignore[arg-type]
        if citations:
            self.app.call_from_thread(view.set_citations, citations)  # type: ignore[arg-type]
        self.app.call_from_thread(self._set_generating, False)
        if spoken and text and not error and not cancel.cancelled:
            # voice mode: a spoken question is answered aloud too
            try:
                note = self.assistant_app.backend.speak(text)
            except Exception as exc:  # a broken voice is a note, never a crash
                note = f"could not speak the answer: {exc}"
            if note:
                self.app.call_from_thread(self.notify, note)

    def _set_generating(self, on_: bool) -> None:
        self.generating = on_
        self.query_one("#stop", Button).disabled = not on_
        self.query_one("#send", Button).disabled = on_
        self.query_one("#messages", VerticalScroll).scroll_end(animate=False)

    @on(Button.Pressed, "#stop")
    def action_stop(self) -> None:
        if self.cancel is not None:
            self.cancel.cancel()

    @on(Button.Pressed, "#voice")
    def action_voice(self) -> None:
        from assistant.tui.screens.voice import VoiceDialog

        def got(text: str | None) -> None:
            if text:
                self.ask(text, spoken=True)

        self.app.push_screen(VoiceDialog(), got)
