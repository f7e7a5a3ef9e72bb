"""Compressed speech audio, encoded as it is synthesised: mp3, Ogg Opus, AAC (ADTS) and FLAC.

An Encoder takes float32 mono samples, sentence by sentence, and returns the bytes that are ready
after each one, so the first sentence can be sent (or written) before the text is done. PyAV
(a faster-whisper dependency, with its own ffmpeg) does the encoding; it is imported lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

import numpy as np

from runtime.audio import AudioError


@dataclass(frozen=True)
class AudioFormat:
    """One compressed output format: ffmpeg's container and codec, and how it is served."""

    name: str
    container: str
    codec: str
    content_type: str
    bit_rate: int = 0  # 0: the codec's own choice (lossless)
    rate: int = 0  # 0: the voice's rate; Opus encodes at 48 kHz only
    options: dict[str, str] = field(default_factory=dict)


FORMATS: dict[str, AudioFormat] = {
    # raw MP3 frames: no Xing/ID3 header, which a non-seekable stream could never fill in
    "mp3": AudioFormat(
        "mp3", "mp3", "libmp3lame", "audio/mpeg", 64000, options={"write_xing": "0", "id3v2_version": "0"}
    ),
    # one Ogg page per 20 ms Opus packet: pages leave as soon as the audio is encoded
    "opus": AudioFormat(
        "opus", "ogg", "libopus", "audio/ogg", 32000, rate=48000, options={"page_duration": "20000"}
    ),
    "aac": AudioFormat("aac", "adts", "aac", "audio/aac", 64000),
    "flac": AudioFormat("flac", "flac", "flac", "audio/flac"),
}
# `assistant say --out FILE`: the file extension picks the format (.ogg is Ogg Opus)
EXTENSIONS = {".mp3": "mp3", ".opus": "opus", ".ogg": "opus", ".aac": "aac", ".flac": "flac"}


class _Drain:
    """A write-only, non-seekable file for the muxer: nothing is ever rewritten, so the bytes can
    leave as soon as they are written."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


class Encoder:
    """Encodes float32 mono audio at `sample_rate` into `fmt` ("mp3", "opus", "aac" or "flac");
    write() returns the bytes ready so far, finish() the rest. AudioError when the format is
    unknown or this PyAV build lacks the codec."""

    def __init__(self, fmt: str, sample_rate: int) -> None:
        if fmt not in FORMATS:
            raise AudioError(f"unknown audio format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
        self.format = FORMATS[fmt]
        self.sample_rate = sample_rate
        try:
            import av
        except ImportError:
            raise AudioError(
                f"cannot encode {fmt}: PyAV is not installed", "pip install av==18.1.0, or use wav"
            ) from None
        try:
            av.codec.Codec(self.format.codec, "w")
        except ValueError:
            raise AudioError(
                f"cannot encode {fmt}: this PyAV build has no {self.format.codec} encoder",
                "install the PyAV wheel from PyPI (pip install av==18.1.0), or use wav",
            ) from None
        self._av = av
        self._out = _Drain()
        self._container = av.open(self._out, "w", format=self.format.container, options=self.format.options)
        stream: Any = self._container.add_stream(
            self.format.codec, rate=self.format.rate or sample_rate, layout="mono"
        )
        if self.format.bit_rate:
            stream.bit_rate = self.format.bit_rate
        self._stream = stream
        self._closed = False

    def write(self, samples: np.ndarray) -> bytes:
        """Encode the next samples; return the bytes that are complete (may be empty)."""
        x = np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1)
        if x.shape[1]:
            frame = self._av.AudioFrame.from_ndarray(x, format="flt", layout="mono")
            frame.sample_rate = self.sample_rate
            self._mux(frame)
        return self._out.take()

    def finish(self) -> bytes:
        """Flush the encoder and close the stream; return the last bytes."""
        if not self._closed:
            self._closed = True
            self._mux(None)
            self._container.close()
        return self._out.take()

    def close(self) -> None:
        """Release the encoder without returning what is left (a client that went away)."""
        if not self._closed:
            self._closed = True
            self._container.close()

    def _mux(self, frame: Any) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)


def encode_stream(chunks: Iterable[np.ndarray], fmt: str, sample_rate: int) -> Iterator[bytes]:
    """Yield `fmt` bytes as each chunk of float32 mono samples is encoded (empty pieces skipped)."""
    encoder = Encoder(fmt, sample_rate)
    try:
        for samples in chunks:
            data = encoder.write(samples)
            if data:
                yield data
        data = encoder.finish()
        if data:
            yield data
    finally:
        encoder.close()


class EncodedFileSink:
    """Writes speech to a file in `fmt` as it is synthesised (into FILE.part, renamed by save(), so
    a failed run leaves no half file); the encoder starts at the rate of the first samples."""

    def __init__(self, path: Path | str, fmt: str) -> None:
        self.path = Path(path)
        self.format = fmt
        Encoder(fmt, 22050).close()  # an unknown format or a missing codec fails before any work
        self._part = self.path.with_name(self.path.name + ".part")
        self._file: BinaryIO | None = None
        self._encoder: Encoder | None = None

    def write(self, samples: np.ndarray, sample_rate: int) -> None:
        if self._encoder is None:
            self._encoder = Encoder(self.format, sample_rate)
            self._file = self._part.open("wb")
        elif sample_rate != self._encoder.sample_rate:
            from skills.voice.sinks import resample

            samples = resample(samples, sample_rate, self._encoder.sample_rate)
        assert self._file is not None
        self._file.write(self._encoder.write(samples))

    def save(self, path: Path | str | None = None) -> Path:
        """Finish the stream and move it to its path; return the path."""
        if self._encoder is None:
            raise AudioError("no audio was spoken", "pass some text to speak")
        assert self._file is not None
        self._file.write(self._encoder.finish())
        self._file.close()
        self._part.replace(self.path)
        return self.path

    def close(self) -> None:
        if self._encoder is not None:
            self._encoder.close()
        if self._file is not None and not self._file.closed:
            self._file.close()
            self._part.unlink(missing_ok=True)
