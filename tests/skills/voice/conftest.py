"""Voice fixtures: the Piper voice, Whisper tiny.en and the chat model load once per session; the
questions are spoken by espeak-ng; memory is a real encrypted file with the contract, the dentist and a yoga class with Ingrid in it."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pytest

from tests.skills.voice.helpers import CHAT_MODEL


@pytest.fixture(scope="session")
def piper_voice(real_store: Any) -> Any:
    from runtime.engines.piper import DEFAULT_VOICE, PiperEngine

    return PiperEngine.load(DEFAULT_VOICE, real_store.ensure(DEFAULT_VOICE).path)


@pytest.fixture(scope="session")
def whisper(real_store: Any) -> Iterator[Any]:
    from runtime.engines.whisper import WhisperEngine
    from runtime.planner import PlanOptions, plan_all
    from runtime.probe import probe

    plans = plan_all(probe(), PlanOptions(threads=2))
    engine = WhisperEngine.load(
        "whisper-tiny.en", real_store.ensure("whisper-tiny.en").path, plans["ctranslate2"]
    )
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def transcribe(whisper: Any) -> Any:
    """audio -> text with tiny.en, "" for no speech: what the voice skill does over the speech skill."""
    from runtime.engines.whisper import SttOptions
    from skills.voice import has_speech

    def run(audio: np.ndarray) -> str:
        if len(audio) < 1600 or not has_speech(audio):
            return ""
        return str(
            whisper.transcribe(
                audio, SttOptions(language="en", window="short", min_window=10.0, word_timestamps=False)
            ).text
        )

    return run


@pytest.fixture(scope="session")
def hear_back(whisper: Any) -> Any:
    """audio -> text the careful way (padded window, beam 5), to check what the answer said."""
    from runtime.engines.whisper import SttOptions

    def run(audio: np.ndarray) -> str:
        opts = SttOptions(language="en", window="padded", beam_size=5, word_timestamps=False)
        return str(whisper.transcribe(audio, opts).text)

    return run


@pytest.fixture(scope="session")
def memory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import FakeEmbedder
    from skills.memory.model import Caller

    m = MemorySkill(
        MemoryOptions(StoreOptions(tmp_path_factory.mktemp("voice-mem") / "m.db", key_source="file")),
        embedder=FakeEmbedder(),
    )
    m.push(
        Caller("mail"),
        {
            "kind": "message",
            "title": "Signed contract for the Lisbon office",
            "body": "Hi, attached is the signed lease contract. Best, Sarah Miller",
            "entities": {"people": ["Sarah Miller"], "files": ["lease-contract.pdf"]},
        },
    )
    m.push(Caller("calendar"), {"kind": "calendar", "title": "Dentist appointment", "body": "Tuesday at 9am"})
    m.push(
        Caller("calendar"),
        {
            "kind": "calendar",
            "title": "Yoga class with Ingrid",
            "body": "Wednesday at six in the evening",
            "entities": {"people": ["Ingrid"]},
        },
    )
    yield m
    m.close()


@pytest.fixture(scope="session")
def chat(real_runtime: Any, memory: Any) -> Any:
    from skills.chat import ChatSkill

    with real_runtime.scheduler.use(CHAT_MODEL):  # load once, before any timing
        pass
    return ChatSkill(real_runtime, memory)
