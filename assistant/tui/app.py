"""The assistant's Textual app: screen routing only. I/O goes through the Backend service layer."""

from __future__ import annotations

import functools
import importlib
import importlib.util
from typing import Any, Callable

import click
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from runtime.config import Config
from assistant.tui.backend import Backend
from assistant.tui.conversations import ConversationStore


def _lazy(target: str) -> Callable[[], Screen[Any]]:
    def build() -> Screen[Any]:
        module, cls = target.split(":")
        screen: Screen[Any] = getattr(importlib.import_module(module), cls)()
        return screen

    return build


class ScreensProvider(Provider):
    """Command palette entries for every screen and the main actions."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: AssistantApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, str, Callable[[], Any]]] = [
            (
                f"Go to {name}",
                f"switch to the {name} screen",
                functools.partial(app.run_action, f"switch_mode('{name}')"),
            )
            for name in app.SCREEN_MODULES
        ]
        out.append(("Reload models", "load the chat model again in the background", app.warm_models))
        return out

    async def discover(self) -> Hits:
        for name, help_text, cb in self._commands():
            yield DiscoveryHit(name, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, cb in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help_text)


class AssistantApp(App[None]):
    """Chat, translate, memory, models, settings and voice, one screen each (switch with F1-F6)."""

    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ScreensProvider}
    TITLE = "assistant"
    SCREEN_MODULES = {
        "chat": "assistant.tui.screens.chat:ChatScreen",
        "translate": "assistant.tui.screens.translate:TranslateScreen",
        "memory": "assistant.tui.screens.memory:MemoryScreen",
        "models": "assistant.tui.screens.models:ModelsScreen",
        "settings": "assistant.tui.screens.settings:SettingsScreen",
        "voice": "assistant.tui.screens.voice:VoiceScreen",
    }
    # screens are imported when first shown, which keeps the cold start short
    MODES = {name: _lazy(target) for name, target in SCREEN_MODULES.items()}
    BINDINGS = [
        Binding("f1", "switch_mode('chat')", "Chat"),
        Binding("f2", "switch_mode('translate')", "Translate"),
        Binding("f3", "switch_mode('memory')", "Memory"),
        Binding("f4", "switch_mode('models')", "Models"),
        Binding("f5", "switch_mode('settings')", "Settings"),
        Binding("f6", "switch_mode('voice')", "Voice"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, backend: Backend, conversations: ConversationStore, warm: bool = True) -> None:
        super().__init__()
        self.backend = backend
        self.conversations = conversations
        self._warm = warm
        self.model_status = "starting"

    def on_mount(self) -> None:
        self.switch_mode("chat")
        if self._warm:
            self.sub_title = f"{self.backend.describe()} · loading models…"
            # after the first frame: importing llama.cpp in a thread would compete for the GIL
            self.set_timer(0.2, self.warm_models)
        else:
            self.sub_title = self.backend.describe()

    @work(thread=True, exclusive=True, group="warm")
    def warm_models(self) -> None:
        """Load the chat model in the background so startup never waits for it."""
        try:
            model = self.backend.warm("chat")
            status = f"{model} ready"
            self.call_from_thread(setattr, self, "sub_title", f"{self.backend.describe()} · {status}")
            self.backend.warm("autocomplete")  # so the first ghost text does not wait for a load
        except Exception as exc:  # visible in the header, never a crash
            status = f"model not loaded: {exc}"
        self.model_status = status
        self.call_from_thread(setattr, self, "sub_title", f"{self.backend.describe()} · {status}")

    async def action_switch_mode(self, mode: str) -> None:
        module = self.SCREEN_MODULES[mode].split(":")[0]
        if importlib.util.find_spec(module) is None:
            self.notify(f"the {mode} screen is not part of this build", severity="warning")
            return
        await super().action_switch_mode(mode)

    def on_unmount(self) -> None:
        self.conversations.close()


def make_app(config: Config, warm: bool = True, backend: Any = None) -> AssistantApp:
    """Build the app over a daemon if one is running, else over an in-process runtime."""
    if backend is None:
        from assistant.services import Services
        from assistant.tui.backend import LocalBackend
        from assistant.tui.daemon_backend import DaemonBackend, running_daemon

        client = running_daemon(config)
        backend = DaemonBackend(Services(config), client) if client else LocalBackend(Services(config))
    conversations = ConversationStore(config.data_dir / "conversations.db")
    return AssistantApp(backend, conversations, warm=warm)


@click.command("tui")
@click.pass_obj
def tui_command(cfg: Config) -> None:
    """Start the full-screen assistant (chat, translate, memory, models, settings)."""
    app = make_app(cfg)
    try:
        app.run()
    finally:
        app.backend.close()
