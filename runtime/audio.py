"""Audio sources: the AudioSource protocol with the microphone, file, stdin-PCM and array sources,
and PacedSource, which plays any of them at real speed (a recording heard as if live).

Every source yields float32 mono chunks at 16 kHz, the rate Whisper and Silero VAD expect.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator, Protocol, runtime_checkable

import numpy as np

from runtime.errors import AssistantError

SAMPLE_RATE = 16000


class AudioError(AssistantError):
    code = "audio_error"


@runtime_checkable
class AudioSource(Protocol):
    """Yields float32 mono 16 kHz chunks. `realtime` sources produce audio as time passes
    (microphone, a pipe); others (files, arrays) can be read as fast as they are consumed."""

    sample_rate: int
    realtime: bool

    def chunks(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class AudioOptions:
    """chunk_seconds: size of each chunk; device: microphone index or name (None: default)."""

    chunk_seconds: float = 0.5
    device: int | str | None = None


class ArraySource:
    """Chunks of an in-memory array; the fake for tests and the base of FileSource."""

    realtime = False

    def __init__(self, audio: np.ndarray, options: AudioOptions = AudioOptions()) -> None:
        self.audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        self.sample_rate = SAMPLE_RATE
        self.step = max(1, int(options.chunk_seconds * SAMPLE_RATE))

    def chunks(self) -> Iterator[np.ndarray]:
        for i in range(0, len(self.audio), self.step):
            yield self.audio[i : i + self.step]

    def close(self) -> None:
        pass


class FileSource(ArraySource):
    """Any file ffmpeg/PyAV can read, decoded and resampled by faster-whisper's decoder."""

    def __init__(self, path: Path | str, options: AudioOptions = AudioOptions()) -> None:
        path = Path(path)
        if not path.is_file():
            raise AudioError(f"audio file {path} does not exist", "check the path")
        try:
            from faster_whisper import decode_audio
        except ImportError:
            raise AudioError(
                "reading audio files needs faster-whisper", "run `pip install faster-whisper`"
            ) from None
        try:
            audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
        except Exception as e:  # PyAV raises its own error tree for unreadable files
            raise AudioError(f"cannot decode {path.name}: {e}", "pass a WAV, MP3, FLAC or OGG file") from None
        super().__init__(audio, options)


class PacedSource:
    """Another source's chunks at real speed, like a microphone: a recording played into the live
    path (answers run beside the listening, and barge-in works on the wall clock). close() ends it
    at once, from any thread."""

    realtime = True

    def __init__(self, source: AudioSource) -> None:
        self.source = source
        self.sample_rate = source.sample_rate
        self._closed = threading.Event()

    def chunks(self) -> Iterator[np.ndarray]:
        start = time.monotonic()
        fed = 0.0
        for chunk in self.source.chunks():
            fed += len(chunk) / self.sample_rate
            # a chunk is "heard" once it has been spoken: wait until the wall clock reaches its end
            if self._closed.wait(max(0.0, start + fed - time.monotonic())):
                return
            yield chunk

    def close(self) -> None:
        self._closed.set()
        self.source.close()


class StdinSource:
    """Raw signed 16-bit little-endian mono PCM at 16 kHz from a pipe, e.g.
    `arecord -f S16_LE -r 16000 -c 1 | assistant listen --stdin`."""

    realtime = True

    def __init__(self, stream: IO[bytes] | None = None, options: AudioOptions = AudioOptions()) -> None:
        self.stream = stream if stream is not None else sys.stdin.buffer
        self.sample_rate = SAMPLE_RATE
        self.nbytes = max(2, int(options.chunk_seconds * SAMPLE_RATE) * 2)

    def chunks(self) -> Iterator[np.ndarray]:
        rest = b""
        while True:
            data = self.stream.read(self.nbytes)
            if not data:
                break
            data = rest + data
            usable = len(data) - len(data) % 2  # a pipe can split a sample in two
            rest = data[usable:]
            if usable:
                yield np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0

    def close(self) -> None:
        pass


class MicrophoneSource:
    """The microphone through sounddevice (PortAudio), 16 kHz mono."""

    realtime = True

    def __init__(self, options: AudioOptions = AudioOptions()) -> None:
        self.options = options
        self.sample_rate = SAMPLE_RATE
        self._stream: Any = None
        self._queue: queue.Queue[np.ndarray] = queue.Queue()
        self._sd = _sounddevice()
        self.device = self._pick_device(options.device)

    def _pick_device(self, device: int | str | None) -> int | str | None:
        try:
            devices = self._sd.query_devices()
        except Exception as e:
            raise AudioError(
                f"cannot list audio devices: {e}", "check the sound system (PulseAudio/ALSA)"
            ) from None
        inputs = [d for d in devices if d.get("max_input_channels", 0) > 0]
        if not inputs:
            raise AudioError(
                "no microphone found: PortAudio lists no input device",
                "connect a microphone, or use --file x.wav or --stdin with raw 16 kHz PCM",
            )
        if device is not None:
            names = [str(d["name"]) for d in inputs]
            idx = [d["index"] for d in inputs]
            if not (device in idx or any(str(device).lower() in n.lower() for n in names)):
                raise AudioError(f"no input device {device!r}", f"input devices: {', '.join(names)}")
        return device

    def chunks(self) -> Iterator[np.ndarray]:
        def callback(indata: np.ndarray, frames: int, when: Any, status: Any) -> None:
            self._queue.put(indata[:, 0].copy())

        try:
            self._stream = self._sd.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="float32",
                device=self.device,
                blocksize=int(self.options.chunk_seconds * SAMPLE_RATE),
                callback=callback,
            )
            self._stream.start()
        except Exception as e:  # sounddevice.PortAudioError and friends
            raise AudioError(
                f"cannot open the microphone: {e}", "pick another device with --device"
            ) from None
        try:
            while self._stream is not None:
                try:
                    yield self._queue.get(timeout=0.5)
                except queue.Empty:
                    continue
        finally:
            self.close()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError:  # the module imports but PortAudio's shared library is missing
        raise AudioError(
            "PortAudio is not installed", "install libportaudio2 (Debian) or portaudio (Homebrew)"
        ) from None
    except ImportError:
        raise AudioError(
            "the microphone needs the sounddevice package", "run `pip install sounddevice`"
        ) from None
    return sounddevice


def list_input_devices() -> list[str]:
    """Return "index: name" for each input device; empty where there is none."""
    sd = _sounddevice()
    return [f"{d['index']}: {d['name']}" for d in sd.query_devices() if d.get("max_input_channels", 0) > 0]
