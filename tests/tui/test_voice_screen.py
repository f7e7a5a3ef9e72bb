"""The voice screen (F6): a hands-free spoken conversation in the TUI, with barge-in, the memory
each answer used, push to talk, stop, and no microphone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.tui.app import make_app
from assistant.tui.backend import LocalBackend
from assistant.tui.fake_backend import FakeBackend
from assistant.tui.screens.voice import VoiceScreen, VoiceTurnView
from skills.memory.model import Caller
from skills.speech.metrics import words
from tests.skills.voice.helpers import read_wav, speak, write_wav
from tests.tui.helpers import until


async def _voice_screen(pilot: Any, app: Any) -> VoiceScreen:
    """Switch to the voice screen (F6) and return it."""
    await pilot.press("f6")
    await until(pilot, lambda: isinstance(app.screen, VoiceScreen))
    screen = app.screen
    assert isinstance(screen, VoiceScreen)
    return screen


def _state(app: Any) -> str:
    return str(app.screen.query_one("#voice-state").render())


async def test_a_spoken_turn_is_shown_and_kept_as_a_conversation(tui_config: Any) -> None:
    backend = FakeBackend(tui_config)
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _voice_screen(pilot, app)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: screen.session is None and bool(screen.turns))
        turn = screen.turns[1]
        assert turn.heard == "What is the capital of Italy?"
        assert turn.answer.strip() == backend.reply
        assert "Italy trip" in turn.citations
        assert "voice to voice 1.42 s" in str(turn.query_one(".stats").render())
        assert _state(app).startswith("stopped")
        assert not screen.query_one("#voice-listen").disabled  # ready to listen again
        conv = next(c for c in app.conversations.list() if c.title.startswith("Voice:"))
        assert [m.role for m in app.conversations.messages(conv.id)] == ["user", "assistant"]


async def test_push_to_talk_presses_and_releases_with_ctrl_t(tui_config: Any) -> None:
    backend = FakeBackend(tui_config)
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _voice_screen(pilot, app)
        assert screen.query_one("#voice-talk").disabled  # hands-free needs no Talk key
        screen.query_one("#voice-mode").value = "push-to-talk"
        session = backend.voice_session  # the fake's session is made on Listen

        made: list[Any] = []

        def keep(settings: Any) -> Any:
            made.append(session(settings))
            return made[-1]

        backend.voice_session = keep  # type: ignore[method-assign]
        await pilot.press("ctrl+l")
        await until(pilot, lambda: bool(made))
        await pilot.pause(0.2)
        assert not screen.turns and "press Talk" in _state(app)
        await pilot.press("ctrl+t")
        assert made[0].presses == 1 and str(screen.query_one("#voice-talk").label) == "Done"
        await pilot.press("ctrl+t")  # released: the utterance is taken and answered
        await until(pilot, lambda: screen.session is None and bool(screen.turns))
        assert screen.turns[1].answer.strip() == backend.reply


async def test_stop_ends_a_conversation_that_is_waiting(tui_config: Any) -> None:
    backend = FakeBackend(tui_config)
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _voice_screen(pilot, app)
        screen.query_one("#voice-mode").value = "push-to-talk"
        await pilot.press("ctrl+l")
        await until(pilot, lambda: screen.session is not None)
        await pilot.pause(0.2)
        await pilot.press("escape")
        await until(pilot, lambda: screen.session is None)
        assert not screen.turns and _state(app).startswith("stopped")


@pytest.mark.real_model
async def test_without_a_microphone_it_says_so_in_one_line(tui_config: Any, services: Any) -> None:
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(120, 40)) as pilot:
        await _voice_screen(pilot, app)
        await pilot.press("ctrl+l")
        await pilot.pause(0.3)
        state = _state(app)
        assert "give a recording path instead" in state and "\n" not in state
        assert app.screen.session is None and not app.screen.query_one("#voice-listen").disabled


@pytest.mark.real_model
async def test_hands_free_conversation_from_a_recording_with_barge_in(
    tui_config: Any, services: Any, tmp_path: Path
) -> None:
    services.skill("memory").push(
        Caller("mail"),
        {
            "kind": "message",
            "title": "Signed contract for the Lisbon office",
            "body": "Hi, attached is the signed lease contract. Best, Sarah Miller",
            "entities": {"people": ["Sarah Miller"]},
        },
    )
    q1 = speak("Who sent me the contract? Tell me all about it.", tmp_path / "q1.wav")
    q2 = speak("Thank you, that is enough for now.", tmp_path / "q2.wav")
    # the second question comes while the first answer is still being written or spoken (the
    # recording plays at real speed, as the microphone would)
    recording = np.concatenate([q1, np.zeros(16000 * 2, np.float32), q2, np.zeros(16000 * 2, np.float32)])
    path = write_wav(tmp_path / "conversation.wav", recording)
    backend = LocalBackend(services)
    out = backend.config.data_dir / "voice" / "conversation.wav"
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _voice_screen(pilot, app)
        screen.query_one("#voice-recording").value = str(path)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: screen.session is None, timeout=300)
        views = list(screen.query(VoiceTurnView))
        detail = [(v.heard, v.answer, v.notes, v.citations) for v in views] + [_state(app)]
        assert len(views) == 2, detail
        assert "contract" in words(views[0].heard) and "thank" in words(views[1].heard), detail
        assert "Signed contract for the Lisbon office" in views[0].citations, detail
        assert screen.barge_ins == 1 and any("you spoke" in n for n in views[0].notes), detail
        assert views[1].answer.strip(), detail  # the first answer may be cut before a word of it
        conv = next(c for c in app.conversations.list() if c.title.startswith("Voice:"))
        assert len(app.conversations.messages(conv.id)) == 4
    assert out.exists() and len(read_wav(out)) > 8000  # the answers as heard (the first one cut)
