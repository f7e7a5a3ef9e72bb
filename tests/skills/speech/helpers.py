"""What speech tests import: espeak-ng speech (speak) and the texts it reads."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

ENGLISH = (
    "The quick brown fox jumps over the lazy dog. Today we are testing live captions on a small "
    "computer. It should keep up with the speaker."
)
PORTUGUESE = "Bom dia. Eu gosto muito de café com leite."


def speak(text: str, out: Path, voice: str = "en") -> np.ndarray:
    """Return espeak-ng speech as float32 mono 16 kHz (resampled by sox)."""
    raw = out.with_suffix(".22k.wav")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "130", "-w", str(raw), text], check=True, capture_output=True
    )
    subprocess.run(
        ["sox", "-D", str(raw), "-r", "16000", "-c", "1", str(out)], check=True, capture_output=True
    )
    from faster_whisper import decode_audio

    return np.asarray(decode_audio(str(out)), dtype=np.float32)
