"""A spoken conversation for the TUI's voice screen: the voice skill's loop over the microphone
(or a recording) and the speakers (or a WAV file when there are none), run on a worker thread.

The screen builds a session with `backend.voice_session(...)`, iterates `events()` on a worker,
and calls press()/release() (push to talk) and stop() from the UI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal, Protocol

if TYPE_CHECKING:
    from runtime.audio import AudioSource
    from skills.voice.loop import VoiceEvent, VoiceLoop
    from assistant.services import Services

Mode = Literal["hands-free", "push-to-talk"]


@dataclass(frozen=True)
class VoiceSettings:
    """What the voice screen asks for. path: a recording to answer instead of the microphone."""

    path: str | None = None
    mode: Mode = "hands-free"
    barge_in: bool = True


class VoiceSession(Protocol):
    """One spoken conversation. `output` says where the answers are heard (speakers or a file)."""

    output: str

    def events(self) -> Iterator[VoiceEvent]:
        """The loop's events until the input ends or stop(); call from a worker thread."""
        ...

    def press(self) -> None:
        """Push to talk: the user starts speaking (cuts an answer that is playing)."""
        ...

    def release(self) -> None:
        """Push to talk: the utterance is complete."""
        ...

    def stop(self) -> None:
        """End the conversation from any thread."""
        ...


def open_audio(settings: VoiceSettings, data_dir: Path) -> tuple[AudioSource, Any, Path, str]:
    """Return (source, sink, the WAV file answers go to without a speaker, where answers are heard).
    A recording plays at real speed, as if it were the microphone: the same live path. No
    microphone is an AudioError here, before any model loads."""
    from runtime.audio import AudioError, AudioOptions, FileSource, MicrophoneSource, PacedSource
    from skills.voice.sinks import SpeakerSink, TimelineSink

    opts = AudioOptions(chunk_seconds=0.1)
    source: AudioSource = (
        PacedSource(FileSource(settings.path, opts)) if settings.path else MicrophoneSource(opts)
    )
    out = data_dir / "voice" / "conversation.wav"
    try:
        return source, SpeakerSink(), out, "answers play on the speakers"
    except AudioError as exc:
        return source, TimelineSink(), out, f"{exc.message}: answers are written to {out}"


def save_answers(sink: Any, out: Path, heard: bool) -> None:
    """Without a speaker, write what was answered (as heard) to out; then close the sink."""
    from skills.voice.sinks import TimelineSink

    if isinstance(sink, TimelineSink) and heard:
        out.parent.mkdir(parents=True, exist_ok=True)
        sink.save(out)
    sink.close()


class LocalVoiceSession:
    """The voice skill's loop in this process. The source and sink open in the constructor, so no
    microphone is an AudioError on the UI thread before any model loads."""

    def __init__(self, services: Services, settings: VoiceSettings) -> None:
        self.services = services
        self.settings = settings
        self.source, self.sink, self.out, self.output = open_audio(settings, services.config.data_dir)
        self._loop: VoiceLoop | None = None
        self._stopped = threading.Event()
        self._pressed = False

    def events(self) -> Iterator[VoiceEvent]:
        from skills.memory.model import Caller
        from skills.voice import VoiceOptions

        base = VoiceOptions()
        options = replace(base, mode=self.settings.mode, barge_in=self.settings.barge_in)
        heard = False
        try:
            with self.services.skill("voice").loop(options, Caller.user()) as loop:
                self._loop = loop
                if self._pressed:  # Talk was pressed while the models loaded
                    loop.press()
                if self._stopped.is_set():
                    return
                for ev in loop.run(self.source, self.sink):
                    heard = heard or ev.kind == "audio"
                    yield ev
        finally:
            self._loop = None
            self.source.close()
            save_answers(self.sink, self.out, heard)

    def press(self) -> None:
        self._pressed = True
        if self._loop is not None:
            self._loop.press()

    def release(self) -> None:
        self._pressed = False
        if self._loop is not None:
            self._loop.release()

    def stop(self) -> None:
        self._stopped.set()
        if self._loop is not None:
            self._loop.stop()
        self.source.close()  # a microphone's chunks() ends, so the loop sees the stop at once
