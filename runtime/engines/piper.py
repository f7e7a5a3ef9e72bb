"""Piper text to speech (VITS voices on onnxruntime), plus a tone-making fake for logic tests.

A Piper voice is two files: the ONNX model and its `.onnx.json` config (phoneme map, sample rate,
default scales). The store installs them side by side as `model.onnx` and `model.onnx.json`.
The ONNX session is built here, from the runtime's ONNX plan (execution providers with reasons,
CPU last), never by `PiperVoice.load`, which only knows CUDA-or-CPU. Voices are never downloaded:
`piper.download_voices` fetches from a model hub and is not used.

Text is split at sentence boundaries first and each sentence is synthesised and yielded on its
own, so the first audio is ready after the first sentence rather than after the whole text.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from runtime.engines.base import LoadReport, SpeechChunk, TtsOptions
from runtime.errors import LoadError
from runtime.planner import EnginePlan

DEFAULT_VOICE = "piper-joe-medium"
MAX_SENTENCE_CHARS = 400  # longer runs are cut at commas, then spaces: VITS quality drops on long inputs
_ABBREV = {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "jr", "sr", "prof", "no", "fig"}
_END = re.compile(r"([.!?…]+[\"')\]]*|[;:])(\s+)|\n\s*\n|\n(?=\s*[-*•\d])")


# Control characters mean nothing spoken, and espeak-ng's C API stops at NUL ("embedded null
# character"): they become spaces before phonemising.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def speakable(text: str) -> str:
    """Return text with control characters (NUL included) replaced by spaces."""
    return _CONTROL.sub(" ", text)


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Return the sentences of text, in order, stripped; very long ones cut at commas or spaces."""
    out: list[str] = []
    start = 0
    for m in _END.finditer(text):
        piece = text[start : m.end()].strip()
        last_word = piece.rstrip(".").rsplit(None, 1)[-1].lower() if piece else ""
        if m.group(1) == "." and last_word in _ABBREV:
            continue  # "Dr. Lima" is one sentence
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return [part for s in out for part in _cut(s, max_chars)]


def _cut(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    cut = sentence.rfind(", ", 0, max_chars)
    if cut <= 0:
        cut = sentence.rfind(" ", 0, max_chars)
    if cut <= 0:
        cut = max_chars
    return [sentence[: cut + 1].strip(), *_cut(sentence[cut + 1 :].strip(), max_chars)]


class PiperEngine:
    """A loaded Piper voice: synthesize() yields one SpeechChunk per sentence."""

    def __init__(self, model_id: str, voice: Any, report: LoadReport) -> None:
        self.model_id = model_id
        self.report = report
        self._voice = voice
        self.sample_rate = int(voice.config.sample_rate)
        self._mu = threading.Lock()

    @classmethod
    def load(cls, model_id: str, model_path: Path, plan: EnginePlan | None = None) -> "PiperEngine":
        """Load the voice at model_path (its config is model_path + ".json") on the best planned
        device; LoadError with the fix when the files are not a usable Piper voice."""
        try:
            import onnxruntime as ort
            from piper.config import PiperConfig
            from piper.voice import PiperVoice
        except ImportError as exc:
            raise LoadError(
                f"text to speech needs {exc.name}", "run `pip install piper-tts==1.8.0`"
            ) from None
        fix = f"run `assistant models verify {model_id}`, or remove it and add the voice again"
        config_path = Path(str(model_path) + ".json")
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise LoadError(
                f"voice {model_id} has no config {config_path.name} beside its model", fix
            ) from None
        except (ValueError, KeyError, TypeError, OSError) as exc:
            msg = (
                f"voice {model_id} has an unreadable config {config_path.name} ({type(exc).__name__}: {exc})"
            )
            raise LoadError(msg[:300], fix) from None
        if plan is None:
            from runtime.planner import PlanOptions, plan_all
            from runtime.probe import probe

            plan = plan_all(probe(), PlanOptions())["onnx"]

        def attempt(cand: Any) -> Any:
            so = ort.SessionOptions()
            so.intra_op_num_threads = max(1, int(cand.threads or 1))
            so.log_severity_level = 3
            # idle spinning threads would take the cores the chat model needs between sentences
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            providers = [(name, dict(opts)) for name, opts in cand.providers]
            return ort.InferenceSession(str(model_path), so, providers=providers)

        from runtime.loading import load_with_fallback

        size = model_path.stat().st_size if model_path.is_file() else 0
        try:
            session, report = load_with_fallback(model_id, plan, attempt, lambda _: size)
        except LoadError as exc:
            # the CPU provider loads any valid model, so failing everywhere means the file is bad
            raise LoadError(
                f"voice {model_id} is not a valid ONNX voice ({exc.message})"[:400], fix
            ) from None
        return cls(model_id, PiperVoice(session=session, config=config), report)

    def synthesize(self, text: str, options: TtsOptions = TtsOptions()) -> Iterator[SpeechChunk]:
        """Yield one chunk per sentence of text, each as soon as it is synthesised."""
        from piper.config import SynthesisConfig

        base = float(getattr(self._voice.config, "length_scale", 1.0) or 1.0)
        syn = SynthesisConfig(
            speaker_id=options.speaker,
            length_scale=base / max(0.25, min(4.0, options.speed)),
            volume=options.volume,
        )
        for sentence in split_sentences(speakable(text)):
            t0 = time.perf_counter()
            parts = [c.audio_float_array for c in self._voice.synthesize(sentence, syn)]
            if not parts:
                continue  # punctuation only: nothing to say
            samples = np.concatenate(parts).astype(np.float32)
            yield SpeechChunk(sentence, samples, self.sample_rate, time.perf_counter() - t0)

    def close(self) -> None:
        """Drop the ONNX session (the scheduler calls this when it evicts the voice)."""
        self._voice = None


def hold_voice(runtime: Any, model_id: str = DEFAULT_VOICE) -> PiperEngine:
    """Return the voice held through the runtime's scheduler (counted in its memory budget, on the
    ONNX plan); hand it back with `runtime.release(model_id)` so it ages out when idle."""

    def load(mid: str) -> tuple[PiperEngine, LoadReport]:
        model = runtime.store.ensure(mid)
        if "tts" not in model.roles or model.format != "onnx":
            from runtime.errors import ModelError

            raise ModelError(
                f"{mid} is not a text-to-speech voice",
                f"use {DEFAULT_VOICE} or a Piper voice added with `assistant models add voice.onnx`",
                field="voice",
            )
        engine = PiperEngine.load(mid, model.path, runtime.plans.get("onnx"))
        return engine, engine.report

    return runtime.hold(model_id, load)  # type: ignore[no-any-return]


class FakeTtsEngine:
    """Deterministic TtsEngine for logic tests: a tone per sentence, 60 ms per character."""

    def __init__(
        self,
        model_id: str = "fake-voice",
        sample_rate: int = 16000,
        delay: float = 0.0,
        amplitude: float = 0.3,
    ) -> None:
        self.model_id = model_id
        self.sample_rate = sample_rate
        self.delay = delay  # seconds of "compute" per sentence
        self.amplitude = amplitude
        self.report = LoadReport(model_id, "cpu", ("fake engine",), (), 0.0, 1 << 20)
        self.spoken: list[str] = []
        self.closed = False

    def synthesize(self, text: str, options: TtsOptions = TtsOptions()) -> Iterator[SpeechChunk]:
        for sentence in split_sentences(speakable(text)):
            t0 = time.perf_counter()
            if self.delay:
                time.sleep(self.delay)
            n = int(0.06 * len(sentence) / max(0.25, options.speed) * self.sample_rate)
            t = np.arange(n, dtype=np.float32) / self.sample_rate
            samples = (self.amplitude * options.volume * np.sin(2 * math.pi * 220.0 * t)).astype(np.float32)
            self.spoken.append(sentence)
            yield SpeechChunk(sentence, samples, self.sample_rate, time.perf_counter() - t0)

    def close(self) -> None:
        self.closed = True
