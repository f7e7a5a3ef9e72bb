"""End-of-utterance detection on a live stream: Silero VAD probabilities -> speech start and end.

Speech starts after `min_speech` seconds of windows above the threshold (short clicks and breaths
do not count); it ends after `min_silence` seconds below the lower threshold. That silence is the
whole end-of-utterance cost in the voice-to-voice latency, so it is kept short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Protocol

import numpy as np

from skills.speech.vad import WINDOW

SAMPLE_RATE = 16000
WIN_S = WINDOW / SAMPLE_RATE


class Gate(Protocol):
    """Speech probability per 32 ms window (Silero, or a fake in tests)."""

    def feed(self, chunk: np.ndarray) -> list[float]: ...


@dataclass(frozen=True)
class UtteranceOptions:
    """threshold: speech probability that counts as speech; silence is below threshold - 0.15.
    min_speech: seconds of speech before an utterance starts. min_silence: seconds of silence
    that end it. pad: seconds kept before and after the speech. max_seconds: longest utterance."""

    threshold: float = 0.5
    min_speech: float = 0.25
    min_silence: float = 0.5
    pad: float = 0.25
    max_seconds: float = 30.0


@dataclass(frozen=True)
class UtteranceEvent:
    """ "start": speech began (at = when it was detected); "end": the utterance is complete
    (at = when the end was detected, speech_end = when the speech itself stopped, audio = it)."""

    kind: Literal["start", "end"]
    at: float
    speech_start: float
    speech_end: float = 0.0
    audio: np.ndarray | None = None


class UtteranceDetector:
    """Feeds a stream chunk by chunk and reports where utterances start and end."""

    def __init__(
        self, options: UtteranceOptions = UtteranceOptions(), gate: Callable[[], Gate] | None = None
    ) -> None:
        self.options = options
        if gate is None:
            from skills.speech.vad import SileroGate

            self._gate: Gate = SileroGate(options.threshold)
        else:
            self._gate = gate()
        self._audio = np.zeros(0, np.float32)
        self._offset = 0  # stream sample index of self._audio[0]
        self._win = 0  # windows scored so far
        self._run = 0  # consecutive speech windows
        self._start: int | None = None  # first window of the current utterance
        self._last = 0  # last speech window of the current utterance

    @property
    def time(self) -> float:
        """Seconds of audio fed so far."""
        return (self._offset + len(self._audio)) / SAMPLE_RATE

    @property
    def in_speech(self) -> bool:
        return self._start is not None

    def feed(self, chunk: np.ndarray) -> list[UtteranceEvent]:
        """Add audio; return the starts and ends it completed."""
        o = self.options
        self._audio = np.concatenate([self._audio, np.asarray(chunk, np.float32).reshape(-1)])
        out: list[UtteranceEvent] = []
        need = max(1, round(o.min_speech / WIN_S))
        for p in self._gate.feed(np.asarray(chunk, np.float32).reshape(-1)):
            i = self._win
            self._win += 1
            if p >= o.threshold:
                self._run += 1
                if self._start is None and self._run >= need:
                    self._start = i - self._run + 1
                    out.append(UtteranceEvent("start", (i + 1) * WIN_S, self._start * WIN_S))
                self._last = i
            elif p < o.threshold - 0.15:
                self._run = 0
            if self._start is not None:
                silent = (i - self._last) * WIN_S >= o.min_silence
                too_long = (i - self._start + 1) * WIN_S >= o.max_seconds
                if silent or too_long:
                    out.append(self._end((i + 1) * WIN_S))
        if self._start is None:  # keep only a short pre-roll while nobody speaks
            self._trim(self.time - o.pad - o.min_speech - 1.0)
        return out

    def flush(self) -> list[UtteranceEvent]:
        """End the stream: an utterance still open ends here."""
        return [self._end(self.time)] if self._start is not None else []

    def _end(self, at: float) -> UtteranceEvent:
        assert self._start is not None
        start, end = self._start * WIN_S, (self._last + 1) * WIN_S
        a = max(0, int((start - self.options.pad) * SAMPLE_RATE) - self._offset)
        b = max(a, int((end + self.options.pad) * SAMPLE_RATE) - self._offset)
        audio = self._audio[a:b].copy()
        self._start, self._run = None, 0
        self._trim(end)
        return UtteranceEvent("end", at, start, end, audio)

    def _trim(self, before: float) -> None:
        cut = int(before * SAMPLE_RATE) - self._offset
        if cut > 0:
            self._audio = self._audio[cut:]
            self._offset += cut
