"""Speech fixtures: each Whisper model loads once per session; audio is spoken by espeak-ng."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.skills.speech.helpers import ENGLISH, PORTUGUESE, speak


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
