"""The TUI's service layer: every bit of I/O the screens need goes through a Backend.

`LocalBackend` runs the runtime in-process (through assistant.services.Services). Screens call
these methods from worker threads, never from the event loop.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator, Protocol, Sequence

from runtime.config import Config
from assistant.services import Services
from runtime.engines.base import CancelToken, ChatMessage

if TYPE_CHECKING:
    from runtime.runtime import Runtime
    from skills.autocomplete.skill import Autocomplete
    from skills.autocomplete.types import Kind
    from skills.memory.model import Caller, Candidate, Event, SearchHit
    from skills.memory.skill import MemorySkill
    from skills.speech.stream import CaptionEvent
    from skills.translate.base import TranslationChunk, TranslationResult
    from assistant.tui.voice_session import VoiceSession, VoiceSettings

Progress = Callable[[str, int, int], None]


@functools.lru_cache(maxsize=1)
def _owner() -> Caller:
    """The TUI's memory identity: the user, who sees and controls every app's events."""
    from skills.memory.model import Caller

    return Caller(app="user", owner=True, cross_app=True)


@dataclass(frozen=True)
class ModelRow:
    """One line of the models table."""

    id: str
    format: str
    roles: tuple[str, ...]
    size: int | None
    installed: bool
    source: str


class Backend(Protocol):
    """What the screens may ask for. LocalBackend, DaemonBackend and the FakeBackend used for
    snapshots and demos all implement it; the type checker holds each of them to it."""

    config: Config

    def describe(self) -> str:
        """One line saying where the models run (the app's subtitle)."""
        ...

    def warm(self, role: str) -> str:
        """Load the model serving role so the first answer is fast; return its id."""
        ...

    def chat(self, messages: Sequence[ChatMessage], cancel: CancelToken) -> Generator[str, None, list[str]]:
        """Stream the reply's text; the generator returns the citation lines."""
        ...

    def suggest(
        self, app: str, doc: str, prefix: str, suffix: str = "", kind: Kind = "prose"
    ) -> tuple[str | None, bool]:
        """Return (ghost text to show after prefix or None, whether more is still coming)."""
        ...

    def accept(self, app: str, doc: str, prefix: str, text: str) -> None:
        """Learn from an accepted suggestion (on the device only)."""
        ...

    def translate(
        self, text: str, target: str, source: str = "auto"
    ) -> Generator[TranslationChunk, None, TranslationResult]:
        """Stream translated pieces; the generator returns the whole result."""
        ...

    def captions(
        self, path: str | None, translate_to: str | None, stop: threading.Event | None = None
    ) -> Iterator[CaptionEvent]:
        """Caption events from a file (path) or the microphone (path None) until stop is set."""
        ...

    def transcribe(self, path: str | None, seconds: float = 5.0) -> str:
        """Return what was said in a file, or in the next `seconds` from the microphone."""
        ...

    def speak(self, text: str) -> str:
        """Say text aloud with the default voice; return "" once played, or a one-line note (no
        speaker: the audio went to a file instead)."""
        ...

    def voice_session(self, settings: VoiceSettings) -> VoiceSession:
        """A spoken conversation over the microphone (or settings.path) and the speakers; raises
        AudioError at once when there is no microphone."""
        ...

    def memory_search(self, query: str, app: str | None = None) -> list[SearchHit]: ...

    def memory_resolve(self, text: str) -> list[Candidate]: ...

    def memory_browse(self, app: str | None = None) -> list[Event]: ...

    def memory_forget(
        self,
        ids: tuple[int, ...] = (),
        app: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        """Forget events by id, app or time; return how many."""
        ...

    def memory_pause(self, paused: bool) -> None: ...

    def memory_stats(self) -> dict[str, Any]: ...

    def memory_retention(self, days: float) -> int: ...

    def models(self) -> list[ModelRow]: ...

    def pull(self, model_id: str, progress: Progress) -> str: ...

    def add(self, path: str, progress: Progress) -> str: ...

    def devices(self) -> list[tuple[str, str, str]]:
        """(engine family, chosen device, why) for each family."""
        ...

    def loaded(self) -> list[tuple[str, str, int]]:
        """(model id, device, bytes) for each loaded model."""
        ...

    def close(self) -> None: ...


class LocalBackend(Backend):
    """Backend over an in-process runtime."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.config = services.config

    def describe(self) -> str:
        return "in-process runtime"

    @property
    def runtime(self) -> Runtime:
        return self.services.runtime

    def warm(self, role: str) -> str:
        """Load the model serving role (so the first reply is fast); return its id."""
        model_id = self.runtime.model_for(role)
        self.runtime.store.ensure(model_id)
        with self.runtime.scheduler.use(model_id):
            pass
        return model_id

    def chat(self, messages: Sequence[ChatMessage], cancel: CancelToken) -> Generator[str, None, list[str]]:
        """Stream the reply, grounded in memory; the generator returns the citation lines."""
        answer = yield from self.services.skill("chat").stream(messages, caller=_owner(), cancel=cancel)
        return [c.line() for c in answer.citations]

    def suggest(
        self, app: str, doc: str, prefix: str, suffix: str = "", kind: Kind = "prose"
    ) -> tuple[str | None, bool]:
        """Return (text to insert after prefix or None, whether more is still being generated)."""
        return _suggest_with(self.services.skill("autocomplete"), app, doc, prefix, suffix, kind)

    def accept(self, app: str, doc: str, prefix: str, text: str) -> None:
        """Tell the autocomplete skill a suggestion was accepted (feeds local learning)."""
        from skills.autocomplete.types import Feedback

        self.services.skill("autocomplete").feedback(Feedback(prefix=prefix, text=text, app=app, doc=doc))

    def translate(
        self, text: str, target: str, source: str = "auto"
    ) -> Generator[TranslationChunk, None, TranslationResult]:
        """Stream translated chunks; the generator returns the TranslationResult."""
        from skills.translate.base import TranslateOptions

        return (
            yield from self.services.skill("translate").stream(
                text, TranslateOptions(source=source, target=target)
            )
        )

    def captions(
        self, path: str | None, translate_to: str | None, stop: threading.Event | None = None
    ) -> Iterator[CaptionEvent]:
        """Caption events from a file (path) or the microphone (path None); raises AudioError
        with a plain message when there is no microphone."""
        from runtime.audio import FileSource, MicrophoneSource
        from skills.speech import StreamOptions

        source = FileSource(path) if path else MicrophoneSource()
        speech = self.services.skill("speech")
        try:
            for ev in speech.captions(source, StreamOptions(translate_to=translate_to or None)):
                if stop is not None and stop.is_set():
                    break
                yield ev
        finally:
            source.close()

    def transcribe(self, path: str | None, seconds: float = 5.0) -> str:
        """Return what was said in a file, or in the next `seconds` from the microphone."""
        import numpy as np

        from runtime.audio import FileSource, MicrophoneSource

        if path:
            src: Any = FileSource(path)
        else:
            src = MicrophoneSource()
        try:
            chunks, total = [], 0
            for c in src.chunks():
                chunks.append(c)
                total += len(c)
                if not path and total >= seconds * 16000:
                    break
        finally:
            src.close()
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return str(self.services.skill("speech").transcribe(audio).text).strip()

    def speak(self, text: str) -> str:
        """Say text aloud with the voice skill; without a speaker, write it to
        <data dir>/voice/last-answer.wav and say so."""
        from runtime.audio import AudioError
        from skills.voice.sentences import speakable
        from skills.voice.sinks import SpeakerSink, TimelineSink

        words = speakable(text)
        if not any(c.isalnum() for c in words):
            return ""
        out = self.config.data_dir / "voice" / "last-answer.wav"
        sink: SpeakerSink | TimelineSink
        try:
            sink, note = SpeakerSink(), ""
        except AudioError as exc:
            sink, note = TimelineSink(gap=0.0), f"{exc.message}: the answer was written to {out}"
        try:
            for chunk in self.services.skill("voice").speak(words):
                sink.write(chunk.samples, chunk.sample_rate)
            if isinstance(sink, SpeakerSink):
                sink.drain()
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                sink.save(out)
        finally:
            sink.close()
        return note

    def voice_session(self, settings: VoiceSettings) -> VoiceSession:
        """The voice skill's conversation loop in this process (audio stays on this machine)."""
        from assistant.tui.voice_session import LocalVoiceSession

        return LocalVoiceSession(self.services, settings)

    # -- memory (the TUI acts as the owner: every app's events, full control) -----------------------
    def memory(self) -> MemorySkill:
        return self.services.skill("memory")

    def memory_search(self, query: str, app: str | None = None) -> list[SearchHit]:
        from skills.memory.model import Filters, SearchOptions

        filters = Filters(apps=(app,) if app else ())
        return list(self.memory().search(_owner(), query, SearchOptions(filters=filters, limit=50)))

    def memory_resolve(self, text: str) -> list[Candidate]:
        return list(self.memory().resolve(_owner(), text))

    def memory_browse(self, app: str | None = None) -> list[Event]:
        from skills.memory.model import BrowseOptions, Filters

        return list(
            self.memory().browse(
                _owner(), BrowseOptions(filters=Filters(apps=(app,) if app else ()), limit=200)
            )
        )

    def memory_forget(
        self,
        ids: tuple[int, ...] = (),
        app: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        from skills.memory.skill import ForgetOptions

        return int(self.memory().forget(_owner(), ForgetOptions(ids=ids, app=app, since=since, until=until)))

    def memory_pause(self, paused: bool) -> None:
        (self.memory().pause if paused else self.memory().resume)(_owner())

    def memory_stats(self) -> dict[str, Any]:
        return dict(self.memory().stats(_owner()))

    def memory_retention(self, days: float) -> int:
        from skills.memory.model import Retention

        return int(self.memory().set_retention(_owner(), Retention(default=days * 86400)))

    def models(self) -> list[ModelRow]:
        rows = []
        for mid, man, inst in self.runtime.store.overview():
            about = man or inst
            assert about is not None
            rows.append(
                ModelRow(
                    mid,
                    about.format,
                    tuple(about.roles),
                    about.size,
                    inst is not None,
                    inst.source if inst else "catalog",
                )
            )
        return rows

    def pull(self, model_id: str, progress: Progress) -> str:
        m = self.runtime.store.ensure(model_id, progress=progress)
        return f"{m.id} installed and verified"

    def add(self, path: str, progress: Progress) -> str:
        from pathlib import Path

        m = self.runtime.store.add(Path(path).expanduser(), progress=progress)
        return f"added {m.id} ({m.format})"

    def devices(self) -> list[tuple[str, str, str]]:
        """(engine family, chosen device, why) for each family."""
        return [
            (fam, p.primary.device, "; ".join(p.primary.reasons)) for fam, p in self.runtime.plans.items()
        ]

    def loaded(self) -> list[tuple[str, str, int]]:
        """(model id, device, bytes) for each loaded model."""
        return [(m.model_id, m.device, m.memory_bytes) for m in self.runtime.scheduler.loaded()]

    def skill(self, name: str) -> object:
        return self.services.skill(name)

    def close(self) -> None:
        self.services.close()


def _suggest_with(
    skill: Autocomplete, app: str, doc: str, prefix: str, suffix: str, kind: Kind
) -> tuple[str | None, bool]:
    """Ask the autocomplete skill for the text to show after prefix. The TUI asks off the event loop
    and a newer keystroke cancels the request, so it can afford a longer budget than an editor."""
    from skills.autocomplete.types import CompleteRequest

    result = skill.complete(
        CompleteRequest(
            prefix=prefix,
            suffix=suffix,
            kind=kind,
            app=app,
            doc=doc,
            max_suggestions=1,
            budget_ms=150,
        )
    )
    return (result.text or None), bool(result.partial)
