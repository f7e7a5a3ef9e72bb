"""Where the spoken answer goes: a timeline that becomes a WAV file, or the speakers.

Both know when the answer is playing, so barge-in can stop it: the timeline on the input
stream's clock (recorded and piped audio), the speakers by what is still queued for the device.
"""

from __future__ import annotations

import io
import threading
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from runtime.audio import AudioError


class AudioSink(Protocol):
    """Plays (or records) the answer audio of each turn."""

    def begin(self, at: float) -> None:
        """A new answer starts playing at input time `at` (seconds)."""
        ...

    def write(self, samples: np.ndarray, sample_rate: int) -> None: ...

    def playing(self, at: float) -> bool:
        """Whether answer audio is still playing at input time `at`."""
        ...

    def stop(self, at: float) -> float:
        """Stop the answer at input time `at`; return the seconds of it that were heard."""
        ...

    def close(self) -> None: ...


class TimelineSink:
    """Answers on the input clock: each turn's audio starts at begin(at) and plays at real speed,
    so speech heard at input time t while it plays cuts it there. audio() joins what was heard."""

    def __init__(self, gap: float = 0.3) -> None:
        self.gap = gap  # silence between answers in the joined audio
        self.sample_rate = 0
        self.turns: list[tuple[float, list[np.ndarray]]] = []

    def begin(self, at: float) -> None:
        self.turns.append((at, []))

    def write(self, samples: np.ndarray, sample_rate: int) -> None:
        if not self.turns:
            self.begin(0.0)
        if self.sample_rate and sample_rate != self.sample_rate:
            samples = resample(samples, sample_rate, self.sample_rate)
        else:
            self.sample_rate = sample_rate
        self.turns[-1][1].append(np.asarray(samples, np.float32))

    def _duration(self) -> float:
        if not self.turns or not self.sample_rate:
            return 0.0
        return sum(len(p) for p in self.turns[-1][1]) / self.sample_rate

    def playing(self, at: float) -> bool:
        return bool(self.turns) and self.turns[-1][0] <= at < self.turns[-1][0] + self._duration()

    def stop(self, at: float) -> float:
        if not self.turns:
            return 0.0
        start, parts = self.turns[-1]
        heard = max(0.0, min(at - start, self._duration()))
        keep = int(heard * self.sample_rate)
        joined = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        self.turns[-1] = (start, [joined[:keep]])
        return heard

    def audio(self) -> np.ndarray:
        """Return every answer as heard, each after a short silence (speech from the very first
        sample is often misheard by recognisers, Whisper included)."""
        gap = np.zeros(int(self.gap * self.sample_rate), np.float32)
        out: list[np.ndarray] = []
        for _, parts in self.turns:
            if parts and sum(len(p) for p in parts):
                out += [gap, *parts]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def save(self, path: Path | str) -> Path:
        """Write the joined answers as 16-bit mono WAV; return the path."""
        path = Path(path)
        path.write_bytes(wav_bytes(self.audio(), self.sample_rate or 22050))
        return path

    def close(self) -> None:
        pass


class SpeakerSink:
    """The default output device through sounddevice; AudioError in one line when there is none."""

    def __init__(self, sample_rate: int = 22050) -> None:
        from runtime.audio import _sounddevice

        sd = _sounddevice()
        try:
            outputs = [d for d in sd.query_devices() if d.get("max_output_channels", 0) > 0]
        except Exception as e:
            raise AudioError(
                f"cannot list audio devices: {e}", "check the sound system (PulseAudio/ALSA)"
            ) from None
        if not outputs:
            raise AudioError(
                "no speaker found: PortAudio lists no output device",
                "connect speakers or headphones, or write the audio with --out answer.wav",
            )
        self.sample_rate = sample_rate
        self._buf = np.zeros(0, np.float32)
        self._mu = threading.Lock()

        def callback(outdata: np.ndarray, frames: int, when: Any, status: Any) -> None:
            with self._mu:
                n = min(frames, len(self._buf))
                outdata[:n, 0] = self._buf[:n]
                outdata[n:, 0] = 0.0
                self._buf = self._buf[n:]

        try:
            self._stream = sd.OutputStream(
                samplerate=sample_rate, channels=1, dtype="float32", callback=callback
            )
            self._stream.start()
        except Exception as e:  # sounddevice.PortAudioError and friends
            raise AudioError(
                f"cannot open the speaker: {e}", "write the audio with --out answer.wav"
            ) from None

    def begin(self, at: float) -> None:
        pass

    def write(self, samples: np.ndarray, sample_rate: int) -> None:
        if sample_rate != self.sample_rate:
            samples = resample(samples, sample_rate, self.sample_rate)
        with self._mu:
            self._buf = np.concatenate([self._buf, np.asarray(samples, np.float32)])

    def playing(self, at: float) -> bool:
        with self._mu:
            return len(self._buf) > 0

    def stop(self, at: float) -> float:
        with self._mu:
            self._buf = np.zeros(0, np.float32)
        return 0.0

    def drain(self, timeout: float = 120.0) -> None:
        """Wait until everything written has played."""
        import time

        end = time.monotonic() + timeout
        while self.playing(0.0) and time.monotonic() < end:
            time.sleep(0.05)

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Return samples linearly resampled from rate_in to rate_out (speech-grade, no filtering)."""
    if rate_in == rate_out or len(samples) == 0:
        return np.asarray(samples, np.float32)
    n = int(round(len(samples) * rate_out / rate_in))
    x = np.linspace(0.0, len(samples) - 1, n)
    return np.interp(x, np.arange(len(samples)), samples).astype(np.float32)


def pcm16(samples: np.ndarray) -> bytes:
    """Return float samples in [-1, 1] as signed 16-bit little-endian PCM bytes."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """Return a complete 16-bit mono WAV file of samples."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm16(samples))
    return buf.getvalue()


def wav_header(sample_rate: int) -> bytes:
    """Return a WAV header for a stream of unknown length (sizes set to the maximum, as streaming
    servers do; players read until the data ends)."""
    import struct

    byte_rate = sample_rate * 2
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, byte_rate, 2, 16)
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
    )
