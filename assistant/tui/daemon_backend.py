"""The TUI's backend when a daemon is running: chat and autocomplete go through the daemon (so the
TUI shares its loaded models, queues and learning with other apps), via the client SDK.

Things that belong to this machine's user session stay local: the model store on disk, the
device plan, the microphone and the speakers (the voice screen's loop itself runs in the daemon, over
its /v1/voice WebSocket: daemon_voice.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator, Sequence

from runtime.config import Config
from assistant.services import Services
from assistant.tui.backend import LocalBackend
from runtime.engines.base import CancelToken, ChatMessage

if TYPE_CHECKING:
    from assistant.client import Client
    from assistant.tui.voice_session import VoiceSession, VoiceSettings
    from skills.autocomplete.types import Kind


def running_daemon(config: Config) -> Client | None:
    """Return a connected Client when the local daemon answers /health, else None."""
    from assistant.daemon.settings import DaemonConfig

    settings = DaemonConfig.from_config(config)
    # the client SDK (httpx, pydantic wire types) costs a few hundred ms to import: only pay that
    # when a daemon can be there at all, so a plain start stays fast
    sock = settings.socket_path
    if sock is None or not sock.exists() or not settings.owner_token_path.exists():
        return None
    from assistant.client import Client, ClientOptions

    opts = ClientOptions.from_config(config)
    if opts.socket_path is None or not opts.socket_path.exists() or not opts.token:
        return None
    client = Client(ClientOptions(socket_path=opts.socket_path, token=opts.token, timeout=600.0))
    try:
        client.health()
    except Exception:  # not running, or a stale socket file
        client.close()
        return None
    return client


class DaemonBackend(LocalBackend):
    """Backend over a running daemon (chat, autocomplete), local for store, devices and audio."""

    def __init__(self, services: Services, client: Client) -> None:
        super().__init__(services)
        self.client = client

    def describe(self) -> str:
        return f"attached to daemon ({self.client.options.where()})"

    def warm(self, role: str) -> str:
        model = self.runtime.model_for(role)
        # a one-token request makes the daemon load the model now rather than on the first question
        self.client.chat([{"role": "user", "content": "hi"}], model=model, max_tokens=1)
        return str(model)

    def chat(self, messages: Sequence[ChatMessage], cancel: CancelToken) -> Generator[str, None, list[str]]:
        stream = self.client.chat_stream(
            [{"role": m.role, "content": m.content} for m in messages],
            model=self.runtime.model_for("chat"),
            max_tokens=512,
            temperature=0.3,
        )
        try:
            for piece in stream:
                if cancel.cancelled:
                    break  # closing the stream makes the daemon stop generating
                yield piece
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return []

    def suggest(
        self, app: str, doc: str, prefix: str, suffix: str = "", kind: Kind = "prose"
    ) -> tuple[str | None, bool]:
        r = self.client.call(
            "autocomplete",
            {
                "session": doc,
                "prefix": prefix,
                "suffix": suffix,
                "kind": kind,
                "budget_ms": 150,
                "max_suggestions": 1,
            },
        )
        text = r.suggestions[0].text if r.suggestions else None
        return text, bool(r.partial)

    def accept(self, app: str, doc: str, prefix: str, text: str) -> None:
        self.client.call(
            "autocomplete_feedback", {"session": doc, "prefix": prefix, "text": text, "accepted": True}
        )

    def voice_session(self, settings: VoiceSettings) -> VoiceSession:
        """The conversation loop runs in the daemon (its Whisper, chat model and voice); the microphone
        and the speakers stay here."""
        from assistant.tui.daemon_voice import DaemonVoiceSession

        return DaemonVoiceSession(self.client, settings, self.config.data_dir)

    def loaded(self) -> list[tuple[str, str, int]]:
        return [(m, "in the daemon", 0) for m in self.client.health().loaded_models]

    def close(self) -> None:
        self.client.close()
        super().close()
