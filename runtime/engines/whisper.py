"""faster-whisper speech engine (CTranslate2), plus a scripted fake for streaming-logic tests.

The model is always loaded from the store's folder path: passing a model *name* to WhisperModel
would trigger a hub download, which this offline runtime must never do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from runtime.engines.base import LoadReport

SAMPLE_RATE = 16000
Task = Literal["transcribe", "translate"]


@dataclass(frozen=True)
class SttOptions:
    """One transcription pass.

    language: spoken language code, or None to detect it (multilingual models only).
    task: "transcribe" keeps the language; "translate" gives English.
    beam_size: 1 is greedy (fastest); larger searches more hypotheses.
    prompt: earlier text the decoder is conditioned on, for continuity across passes.
    word_timestamps: per-word times, which the streaming commit policy needs.
    """

    language: str | None = None
    task: Task = "transcribe"
    beam_size: int = 1
    prompt: str | None = None
    word_timestamps: bool = True


@dataclass(frozen=True)
class Word:
    """A recognised word; times are seconds from the start of the audio passed in."""

    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class SttResult:
    """What one pass heard, and what it cost."""

    words: tuple[Word, ...]
    text: str
    language: str
    duration: float  # seconds of audio
    seconds: float  # compute seconds

    @property
    def rtf(self) -> float:
        """Return compute time over audio time (below 1 keeps up with real time)."""
        return self.seconds / self.duration if self.duration > 0 else 0.0


@runtime_checkable
class SpeechEngine(Protocol):
    """A loaded speech-to-text model."""

    model_id: str
    multilingual: bool

    def transcribe(self, audio: np.ndarray, options: SttOptions = ...) -> SttResult: ...

    def close(self) -> None: ...


class WhisperEngine:
    """A faster-whisper model on the planned device (falling back to the CPU)."""

    def __init__(self, model_id: str, model: Any, report: LoadReport) -> None:
        self.model_id = model_id
        self.model = model
        self.report = report
        self.multilingual = bool(model.model.is_multilingual)

    @classmethod
    def load(cls, model_id: str, folder: Path, plan: Any) -> "WhisperEngine":
        """Load the CTranslate2 Whisper folder with the ctranslate2 plan's device and compute type."""
        from assistant.errors import LoadError
        from runtime.loading import load_with_fallback

        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise LoadError("speech needs the faster-whisper package", "run `pip install faster-whisper==1.2.1`") from None
        if not (Path(folder) / "model.bin").is_file():
            raise LoadError(f"{folder} is not a CTranslate2 Whisper folder", f"run `assistant models pull {model_id}`")

        def attempt(cand: Any) -> Any:
            return WhisperModel(str(folder), device=cand.device, compute_type=cand.compute_type,
                                cpu_threads=cand.threads, local_files_only=True)

        model, report = load_with_fallback(model_id, plan, attempt)
        return cls(model_id, model, report)

    def transcribe(self, audio: np.ndarray, options: SttOptions = SttOptions()) -> SttResult:
        t0 = time.perf_counter()
        language = options.language if self.multilingual else "en"
        segments, info = self.model.transcribe(
            audio, language=language, task=options.task if self.multilingual else "transcribe",
            beam_size=options.beam_size, best_of=1, temperature=0.0, initial_prompt=options.prompt or None,
            word_timestamps=options.word_timestamps, condition_on_previous_text=False, vad_filter=False,
        )
        words: list[Word] = []
        texts: list[str] = []
        for seg in segments:
            texts.append(seg.text)
            for w in seg.words or ():
                words.append(Word(float(w.start), float(w.end), w.word, float(w.probability)))
        return SttResult(tuple(words), "".join(texts).strip(), info.language, len(audio) / SAMPLE_RATE,
                         time.perf_counter() - t0)

    def close(self) -> None:
        self.model = None


class FakeSpeechEngine:
    """Hears a fixed script: fed audio whose sample values are their own sample index (see
    `timeline_audio`), it returns the script's words that lie fully inside the audio, with the
    last `unstable` seconds' words misheard, as a real model revises its tail. `cost` is the
    compute seconds it claims per pass, so adaptation can be tested without a slow model."""

    def __init__(self, script: Sequence[Word], unstable: float = 0.6, model_id: str = "fake-stt",
                 multilingual: bool = False, cost: float = 0.0) -> None:
        self.script = tuple(script)
        self.unstable = unstable
        self.model_id = model_id
        self.multilingual = multilingual
        self.cost = cost
        self.calls: list[SttOptions] = []

    def transcribe(self, audio: np.ndarray, options: SttOptions = SttOptions()) -> SttResult:
        self.calls.append(options)
        if len(audio) == 0:
            return SttResult((), "", "en", 0.0, self.cost)
        start = float(audio[0]) / SAMPLE_RATE
        end = (float(audio[-1]) + 1) / SAMPLE_RATE
        words = []
        for w in self.script:
            if w.start >= start - 1e-6 and w.end <= end + 1e-6:
                text = w.text + "?" if w.end > end - self.unstable else w.text
                words.append(Word(w.start - start, w.end - start, text))
        return SttResult(tuple(words), "".join(w.text for w in words).strip(), "en", end - start, self.cost)

    def close(self) -> None:
        pass


def timeline_audio(seconds: float) -> np.ndarray:
    """Return fake audio for FakeSpeechEngine: each sample holds its own index (exact in float32)."""
    return np.arange(int(seconds * SAMPLE_RATE), dtype=np.float32)
