"""Speech fixtures: each Whisper model loads once per session; audio is spoken by espeak-ng."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

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


@pytest.fixture(scope="session")
def speech_skill(real_store):  # type: ignore[no-untyped-def]
    from runtime.engines.whisper import WhisperEngine
    from runtime.planner import PlanOptions, plan_all
    from runtime.probe import probe
    from skills.speech import SpeechSkill

    plans = plan_all(probe(), PlanOptions(threads=2))
    skill = SpeechSkill(lambda m: WhisperEngine.load(m, real_store.ensure(m).path, plans["ctranslate2"]))
    yield skill
    skill.close()


@pytest.fixture(scope="session")
def english_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("speech") / "en.wav"
    return path, speak(ENGLISH, path)


@pytest.fixture(scope="session")
def portuguese_audio(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return speak(PORTUGUESE, tmp_path_factory.mktemp("speech") / "pt.wav", voice="pt")
