"""faster-whisper speech engine (CTranslate2), plus a scripted fake for streaming-logic tests.

The model is always loaded from the store's folder path: passing a model *name* to WhisperModel
would trigger a hub download, which this offline runtime must never do.

Two decode paths. "padded" (the default) is faster-whisper's own `transcribe`, which always pads
the audio to a 30 s window, so a pass over 1-5 s of audio costs as much as one over 30 s.
"short" (`WhisperEngine.transcribe_short`, what streaming uses) encodes only the audio it is
given, padded up to `min_window`, which makes a streaming pass 3-5x cheaper on a CPU. Audio longer
than one 30 s window, or a short decode that degenerates into repetition, takes the padded path.
Offline stays padded: on espeak-ng speech the short window matched or beat it with tiny.en, but
was worse on some Portuguese sentences with base, and offline calls are not latency-bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from runtime.engines.base import LoadReport

SAMPLE_RATE = 16000
MAX_SHORT_SAMPLES = 30 * SAMPLE_RATE  # the encoder's longest window
HOP = 160  # samples per mel frame
Task = Literal["transcribe", "translate"]
Window = Literal["short", "padded"]


@dataclass(frozen=True)
class SttOptions:
    """One transcription pass.

    language: spoken language code, or None to detect it (multilingual models only).
    task: "transcribe" keeps the language; "translate" gives English.
    beam_size: 1 is greedy (fastest); larger searches more hypotheses.
    prompt: earlier text the decoder is conditioned on, for continuity across passes.
    word_timestamps: per-word times, which the streaming commit policy needs.
    window: "short" encodes only the audio passed in (fast on short audio); "padded" is
        faster-whisper's transcribe over 30 s windows (the reference path, and the fallback).
    min_window: seconds the short window is padded up to; Whisper was trained on 30 s windows,
        and on espeak-ng speech a few seconds of padding decodes slightly better than none.
    pad_after: seconds of padding always added after the audio in a short window: audio cut
        mid-word at the window's edge otherwise sends tiny.en into repetition loops.
    """

    language: str | None = None
    task: Task = "transcribe"
    beam_size: int = 1
    prompt: str | None = None
    word_timestamps: bool = True
    window: Window = "padded"
    min_window: float = 5.0
    pad_after: float = 2.0


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
        self._tokenizers: dict[tuple[str, str], Any] = {}

    @classmethod
    def load(cls, model_id: str, folder: Path, plan: Any) -> "WhisperEngine":
        """Load the CTranslate2 Whisper folder with the ctranslate2 plan's device and compute type."""
        from runtime.errors import LoadError
        from runtime.loading import load_with_fallback

        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise LoadError(
                "speech needs the faster-whisper package", "run `pip install faster-whisper==1.2.1`"
            ) from None
        if not (Path(folder) / "model.bin").is_file():
            raise LoadError(
                f"{folder} is not a CTranslate2 Whisper folder", f"run `assistant models pull {model_id}`"
            )

        def attempt(cand: Any) -> Any:
            return WhisperModel(
                str(folder),
                device=cand.device,
                compute_type=cand.compute_type,
                cpu_threads=cand.threads,
                local_files_only=True,
            )

        weights = (Path(folder) / "model.bin").stat().st_size  # CTranslate2 keeps about this much resident
        model, report = load_with_fallback(model_id, plan, attempt, lambda _: weights)
        return cls(model_id, model, report)

    def transcribe(self, audio: np.ndarray, options: SttOptions = SttOptions()) -> SttResult:
        """Return what the audio says, through the short-window path when it fits one window."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if options.window == "short" and 0 < len(audio) <= MAX_SHORT_SAMPLES:
            result = self.transcribe_short(audio, options)
            if result is not None:
                return result
        return self.transcribe_padded(audio, options)

    def transcribe_padded(self, audio: np.ndarray, options: SttOptions = SttOptions()) -> SttResult:
        """Return faster-whisper's own `transcribe` of the audio (30 s windows, any length)."""
        t0 = time.perf_counter()
        language = options.language if self.multilingual else "en"
        segments, info = self.model.transcribe(
            audio,
            language=language,
            task=options.task if self.multilingual else "transcribe",
            beam_size=options.beam_size,
            best_of=1,
            temperature=0.0,
            initial_prompt=options.prompt or None,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        words: list[Word] = []
        texts: list[str] = []
        for seg in segments:
            texts.append(seg.text)
            for w in seg.words or ():
                words.append(Word(float(w.start), float(w.end), w.word, float(w.probability)))
        return SttResult(
            tuple(words),
            "".join(texts).strip(),
            info.language,
            len(audio) / SAMPLE_RATE,
            time.perf_counter() - t0,
        )

    def transcribe_short(self, audio: np.ndarray, options: SttOptions = SttOptions()) -> SttResult | None:
        """Return the transcript from one encoder pass over just this audio (at most 30 s), or None
        when the decode degenerates (repetition loop), so the caller can use the padded path."""
        from faster_whisper.transcribe import get_compression_ratio

        t0 = time.perf_counter()
        m = self.model
        duration = len(audio) / SAMPLE_RATE
        features = m.feature_extractor(audio)
        content = min(features.shape[-1] - 1, MAX_SHORT_SAMPLES // HOP)
        # whole seconds keep the frame count even (the encoder's stride is 2) and vary less
        frames = min(
            MAX_SHORT_SAMPLES // HOP,
            100 * int(np.ceil(max(duration + options.pad_after, options.min_window))),
        )
        # pad the features with zeros, as faster-whisper's pad_or_trim does: padding the audio
        # instead (log-mel floor) made tiny.en repeat whole sentences on espeak-ng speech
        features = np.pad(features[:, :content], ((0, 0), (0, frames - content)))
        encoded = m.encode(features)
        language = options.language if self.multilingual else "en"
        if language is None:
            language = m.model.detect_language(encoded)[0][0][0][2:-2]  # "<|pt|>" -> "pt"
        task = options.task if self.multilingual else "transcribe"
        tok = self._tokenizer(task, language)
        prompt: list[int] = []
        if options.prompt:
            prompt = [tok.sot_prev, *tok.encode(" " + options.prompt.strip())[-(m.max_length // 2 - 1) :]]
        prompt += [*tok.sot_sequence, tok.no_timestamps]
        # speech runs at ~3-5 tokens/s: the cap ends a repetition loop early instead of at 448
        max_new = int(duration * 12) + 8
        res = m.model.generate(
            encoded,
            [prompt],
            beam_size=options.beam_size,
            max_length=min(m.max_length, len(prompt) + max_new),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress(tok),
        )[0]
        tokens = cut_loop([t for t in res.sequences_ids[0] if t < tok.eot])
        avg_logprob = res.scores[0] * len(tokens) / (len(tokens) + 1)
        text = tok.decode(tokens).strip()
        if res.no_speech_prob > 0.6 and avg_logprob < -1.0:
            tokens, text = [], ""  # faster-whisper's silence rule: nothing was said
        if get_compression_ratio(text) > 2.4:
            return None
        words: list[Word] = []
        if options.word_timestamps and tokens:
            from faster_whisper.transcribe import merge_punctuations

            alignment = m.find_alignment(tok, [tokens], encoded, content)[0]
            merge_punctuations(alignment, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
            words = [
                Word(
                    min(float(a["start"]), duration),
                    min(float(a["end"]), duration),
                    a["word"],
                    float(a["probability"]),
                )
                for a in alignment
                if a["word"]
            ]
        return SttResult(tuple(words), text, language, duration, time.perf_counter() - t0)

    def _tokenizer(self, task: str, language: str) -> Any:
        key = (task, language)
        if key not in self._tokenizers:
            from faster_whisper.tokenizer import Tokenizer

            self._tokenizers[key] = Tokenizer(
                self.model.hf_tokenizer, self.multilingual, task=task, language=language
            )
        return self._tokenizers[key]

    def _suppress(self, tok: Any) -> tuple[int, ...]:
        from faster_whisper.transcribe import get_suppressed_tokens

        return tuple(get_suppressed_tokens(tok, [-1]))

    def close(self) -> None:
        self.model = None


def cut_loop(tokens: list[int], repeats: int = 3, longest: int = 8) -> list[int]:
    """Return tokens up to the first repetition loop (an n-gram said `repeats` times in a row,
    spanning 6 tokens or more, kept once): the short window's cheap guard, since a decode cut
    off mid-word loops rather than stops."""
    n = len(tokens)
    for i in range(n):
        for p in range(1, longest + 1):
            span = p * max(repeats, -(-6 // p))
            if i + span > n:
                continue
            if all(tokens[i + k] == tokens[i + k % p] for k in range(p, span)):
                return tokens[: i + p]
    return tokens


class FakeSpeechEngine:
    """Hears a fixed script: fed audio whose sample values are their own sample index (see
    `timeline_audio`), it returns the script's words that lie fully inside the audio, with the
    last `unstable` seconds' words misheard, as a real model revises its tail. `cost` is the
    compute seconds it claims per pass, so adaptation can be tested without a slow model."""

    def __init__(
        self,
        script: Sequence[Word],
        unstable: float = 0.6,
        model_id: str = "fake-stt",
        multilingual: bool = False,
        cost: float = 0.0,
    ) -> None:
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
