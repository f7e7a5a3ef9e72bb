"""The voice screen's conversation when a daemon runs: the microphone (or a recording) stays here,
the loop runs in the daemon over its /v1/voice WebSocket, so the TUI shares the daemon's loaded
Whisper, chat model and voice instead of loading its own copies.

Audio goes up as PCM s16le 16 kHz frames; the daemon's events come back as JSON and are turned into
the same VoiceEvents the in-process loop yields, and the answer's audio (PCM s16le at the voice's
rate) plays on the speakers, or goes to the conversation's WAV file without one.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator, Iterator
from urllib.parse import urlencode, urlparse

import numpy as np

from assistant.tui.voice_session import VoiceSettings, open_audio, save_answers
from runtime.errors import AssistantError

if TYPE_CHECKING:
    from assistant.client import Client
    from skills.voice.loop import VoiceEvent


class DaemonVoiceSession:
    """A VoiceSession whose loop runs in the daemon."""

    def __init__(self, client: Client, settings: VoiceSettings, data_dir: Path) -> None:
        self.client = client
        self.settings = settings
        self.source, self.sink, self.out, self.output = open_audio(settings, data_dir)
        self.output += " (the daemon's models answer)"
        self._ws: Any = None
        self._send_mu = threading.Lock()
        self._stopped = threading.Event()

    def _connect(self) -> Any:
        from websockets.sync.client import connect, unix_connect

        opts = self.client.options
        query = urlencode({"mode": self.settings.mode, "barge_in": str(self.settings.barge_in).lower()})
        headers = {"Authorization": f"Bearer {opts.token}"} if opts.token else {}
        if opts.base_url:
            u = urlparse(opts.base_url)
            url = f"{'wss' if u.scheme == 'https' else 'ws'}://{u.netloc}/v1/voice?{query}"
            return connect(url, additional_headers=headers, max_size=None, open_timeout=30)
        assert opts.socket_path is not None
        return unix_connect(
            str(opts.socket_path),
            f"ws://localhost/v1/voice?{query}",
            additional_headers=headers,
            max_size=None,
            open_timeout=30,
        )

    def _send(self, data: str | bytes) -> None:
        with self._send_mu:
            if self._ws is not None:
                self._ws.send(data)

    def _stream_audio(self) -> None:
        """Send the input as it arrives, then "end" (a sender thread)."""
        from skills.voice.sinks import pcm16

        try:
            for chunk in self.source.chunks():
                if self._stopped.is_set():
                    break
                if len(chunk):
                    self._send(pcm16(chunk))
            self._send("end")
        except Exception:  # the connection closed under us: the receiver sees it and ends
            pass

    def events(self) -> Iterator[VoiceEvent]:
        heard = False
        try:
            with self._connect() as ws:  # websockets 17: a sync connection lives in its with-block
                with self._send_mu:
                    self._ws = ws
                if self._stopped.is_set():
                    return
                heard = yield from self._converse(ws)
        finally:
            with self._send_mu:
                self._ws = None
            self.source.close()
            save_answers(self.sink, self.out, heard)

    def _converse(self, ws: Any) -> Generator[VoiceEvent, None, bool]:
        """Stream the input up and the daemon's events and audio down; return whether audio came."""
        from websockets.exceptions import ConnectionClosed

        heard = False
        try:
            ready = json.loads(ws.recv(timeout=300))
        except ConnectionClosed:
            return heard
        if ready.get("type") != "ready":
            _event(ready)  # an error message raises its error
            raise AssistantError(f"the daemon's voice loop did not start: {ready}", "see the daemon's log")
        rate = int(ready.get("sample_rate") or 22050)
        threading.Thread(target=self._stream_audio, name="voice-up", daemon=True).start()
        t0 = time.monotonic()
        playing_turn, turn = -1, 0
        while True:
            try:
                frame = ws.recv()
            except ConnectionClosed:
                return heard
            if isinstance(frame, bytes):
                if playing_turn != turn:  # the first audio of an answer: it starts playing now
                    self.sink.begin(time.monotonic() - t0)
                    playing_turn = turn
                self.sink.write(np.frombuffer(frame, dtype="<i2").astype(np.float32) / 32768.0, rate)
                heard = True
                continue
            ev = _event(json.loads(frame))
            turn = ev.turn or turn
            if ev.kind == "barge_in":
                self.sink.stop(time.monotonic() - t0)
            yield ev
            if ev.kind == "done":
                return heard

    def press(self) -> None:
        self._send(json.dumps({"type": "press"}))

    def release(self) -> None:
        self._send(json.dumps({"type": "release"}))

    def stop(self) -> None:
        """End the conversation: the daemon stops the answer in progress when the client leaves."""
        self._stopped.set()
        self.source.close()
        with self._send_mu:
            if self._ws is not None:
                self._ws.close()


def _event(msg: dict[str, Any]) -> VoiceEvent:
    """Return the daemon's JSON message as the loop's own event; an error message raises it."""
    from skills.chat import Citation
    from skills.voice.loop import TurnStats, VoiceEvent

    if msg.get("type") == "error":
        err = msg.get("error") or {}
        raise AssistantError(
            str(err.get("message") or msg.get("text") or "the voice loop failed"), err.get("fix")
        )
    fields = set(Citation.__dataclass_fields__)
    cites = tuple(Citation(**{k: v for k, v in c.items() if k in fields}) for c in msg.get("citations") or ())
    stats = TurnStats(**msg["stats"]) if msg.get("stats") else None
    return VoiceEvent(
        msg.get("type", ""),  # the daemon sends the loop's own event kinds
        int(msg.get("turn", 0)),
        str(msg.get("text", "")),
        at=float(msg.get("at", 0.0)),
        sample_rate=int(msg.get("sample_rate") or 0),
        citations=cites,
        stats=stats,
    )
