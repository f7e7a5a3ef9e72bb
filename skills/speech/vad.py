"""Silero VAD (shipped inside faster-whisper) as a gate: speech probability per 32 ms window."""

from __future__ import annotations

from typing import Any

import numpy as np

WINDOW = 512  # samples per VAD frame at 16 kHz (32 ms)
CONTEXT = 8000  # samples of earlier audio re-run to warm the model's recurrent state (0.5 s)


class SileroGate:
    """Tracks speech probability for a stream fed chunk by chunk."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._model: Any = None
        self._tail = np.zeros(0, dtype=np.float32)  # audio not yet in a full window
        self._history = np.zeros(0, dtype=np.float32)  # last CONTEXT samples scored
        self.probs: list[float] = []  # one per window since the stream began

    def _get(self) -> Any:
        if self._model is None:
            from faster_whisper.vad import get_vad_model

            self._model = get_vad_model()
        return self._model

    def feed(self, chunk: np.ndarray) -> list[float]:
        """Score the new full windows in chunk; return their speech probabilities."""
        audio = np.concatenate([self._tail, chunk])
        n = len(audio) // WINDOW * WINDOW
        self._tail = audio[n:]
        if n == 0:
            return []
        ctx = self._history[-CONTEXT:]
        ctx = ctx[len(ctx) % WINDOW :]
        x = np.ascontiguousarray(np.concatenate([ctx, audio[:n]]), dtype=np.float32)
        out = np.asarray(self._get()(x)).reshape(-1)
        probs = [float(p) for p in out[len(ctx) // WINDOW :]]
        self._history = np.concatenate([self._history, audio[:n]])[-CONTEXT:]
        self.probs.extend(probs)
        return probs

    def speech_between(self, start: float, end: float, sample_rate: int = 16000) -> bool:
        """Whether any window between start and end seconds is speech."""
        a, b = int(start * sample_rate) // WINDOW, int(np.ceil(end * sample_rate / WINDOW))
        return any(p >= self.threshold for p in self.probs[max(0, a) : b])

    def last_speech(self, sample_rate: int = 16000) -> float | None:
        """Return the end time (seconds) of the last speech window, or None if none yet."""
        for i in range(len(self.probs) - 1, -1, -1):
            if self.probs[i] >= self.threshold:
                return (i + 1) * WINDOW / sample_rate
        return None
