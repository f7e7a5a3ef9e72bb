"""What voice tests import: espeak-ng speech (speak), WAV reading and writing, and the chat model
the voice tests answer with."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

CHAT_MODEL = "qwen2.5-coder-0.5b"


def speak(text: str, out: Path, speed: int = 150) -> np.ndarray:
    """Write espeak-ng speech of text to out (16 kHz mono WAV, via sox); return the samples."""
    raw = out.with_suffix(".22k.wav")
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(raw), text], check=True, capture_output=True
    )
    subprocess.run(
        ["sox", "-D", str(raw), "-r", "16000", "-c", "1", str(out)], check=True, capture_output=True
    )
    return read_wav(out)


def read_wav(path: Path) -> np.ndarray:
    from faster_whisper import decode_audio

    return np.asarray(decode_audio(str(path), sampling_rate=16000), dtype=np.float32)


def write_wav(path: Path, audio: np.ndarray, rate: int = 16000) -> Path:
    from skills.voice.sinks import wav_bytes

    path.write_bytes(wav_bytes(audio, rate))
    return path
