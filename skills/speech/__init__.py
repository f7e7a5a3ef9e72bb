"""Speech: offline transcription/translation of audio, and live captions from an AudioSource.

speech = services.skill("speech")
for ev in speech.captions(FileSource("talk.wav"), StreamOptions(translate_to="pt")):
    print(ev.kind, ev.text)
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator

import numpy as np

from runtime.audio import SAMPLE_RATE, AudioSource
from runtime.engines.whisper import SpeechEngine, SttOptions, SttResult
from skills.host import SkillHost
from skills.speech.stream import CaptionEvent, StreamingTranscriber, StreamOptions, live, simulate

__all__ = ["CaptionEvent", "SpeechSkill", "StreamOptions", "StreamingTranscriber", "create"]

# smaller models to fall back to when a stream cannot keep up, by (model, task, language)
SMALLER = {"whisper-base": ("whisper-tiny.en",)}


class SpeechSkill:
    """Loads Whisper models once (by store id) and runs offline and streaming recognition."""

    def __init__(
        self,
        load: Callable[[str], SpeechEngine],
        translate: Callable[[str, str, str], str] | None = None,
        release: Callable[[str, SpeechEngine], None] | None = None,
    ) -> None:
        """load(model_id) returns an engine. Without `release`, engines are loaded once and kept
        until close(). With it (engines held from the runtime's scheduler), each transcription and
        each stream holds its engine only while it runs and hands it back with release(), so the
        scheduler can age idle engines out."""
        self._load = load
        self._translate = translate
        self._owned = release is None  # engines loaded here are kept and closed here
        self._acquire = self.engine if self._owned else load
        self._release = release or (lambda _model_id, _engine: None)
        self._engines: dict[str, SpeechEngine] = {}
        self._mu = threading.Lock()

    def engine(self, model_id: str) -> SpeechEngine:
        """Return the loaded engine for a store id, loading it on first use and keeping it until close()."""
        with self._mu:
            if model_id not in self._engines:
                self._engines[model_id] = self._load(model_id)
            return self._engines[model_id]

    def warm(self, model: str = "whisper-tiny.en") -> None:
        """Load model and run it once on a second of silence, so the first transcription waits
        neither for the load nor for the decoder's first-call setup (about 2 s on 2 cores)."""
        engine = self._acquire(model)
        try:
            engine.transcribe(
                np.zeros(SAMPLE_RATE, np.float32), SttOptions(language="en", word_timestamps=False)
            )
        finally:
            self._release(model, engine)

    def transcribe(
        self, audio: np.ndarray, model: str = "whisper-tiny.en", options: SttOptions = SttOptions()
    ) -> SttResult:
        """Return the whole transcript (or English translation, task="translate") of audio."""
        if options.task == "translate" and model.endswith(".en"):
            model = "whisper-base"  # English-only models cannot translate
        engine = self._acquire(model)
        try:
            return engine.transcribe(audio, options)
        finally:
            self._release(model, engine)

    def transcriber(self, options: StreamOptions = StreamOptions()) -> StreamingTranscriber:
        """Return a streaming transcriber; smaller fallback models are filled in when compatible."""
        if options.task == "translate" and options.model.endswith(".en"):
            options = StreamOptions(**{**options.__dict__, "model": "whisper-base"})
        if not options.smaller_models and options.task == "transcribe" and options.language in (None, "en"):
            smaller = tuple(m for m in SMALLER.get(options.model, ()) if options.language == "en")
            options = StreamOptions(**{**options.__dict__, "smaller_models": smaller})
        translate = None
        if options.translate_to and self._translate is not None:
            target = options.translate_to
            fn = self._translate

            def translate(text: str, source: str) -> str:
                return text if source == target else fn(text, source, target)

        return StreamingTranscriber(self._acquire, options, translate, release=self._release)

    def captions(
        self, source: AudioSource, options: StreamOptions = StreamOptions()
    ) -> Iterator[CaptionEvent]:
        """Yield caption events for a source: live for real-time sources, simulated clock otherwise."""
        t = self.transcriber(options)
        try:
            yield from (live(t, source) if source.realtime else simulate(t, source))
        finally:
            t.close()  # a stream stopped early hands its engine back too

    def close(self) -> None:
        with self._mu:
            for model_id, e in self._engines.items():
                if self._owned:
                    e.close()
                else:
                    self._release(model_id, e)
            self._engines.clear()


def create(services: SkillHost) -> SpeechSkill:
    """Build the speech skill over the runtime (Whisper engines held under its memory budget) and
    the translate skill."""
    rt = services.runtime

    def translate(text: str, source: str, target: str) -> str:
        from skills.translate import TranslateOptions

        return (
            services.skill("translate").translate(text, TranslateOptions(source=source, target=target)).text
        )

    return SpeechSkill(rt.hold_speech, translate, release=lambda model_id, _engine: rt.release(model_id))
