"""Voice mode in the TUI: a question asked by voice is answered in the chat and aloud."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from assistant.tui.app import make_app
from assistant.tui.backend import LocalBackend
from assistant.tui.fake_backend import FakeBackend
from tests.skills.voice.helpers import read_wav, speak
from tests.tui.helpers import until


async def test_a_typed_question_is_not_spoken_but_a_spoken_one_is(tui_config: Any) -> None:
    backend = FakeBackend(tui_config)
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#prompt")
        await pilot.press(*"typed question", "enter")
        await until(pilot, lambda: len(app.screen.query("MessageView")) == 2 and not app.screen.generating)
        await pilot.pause(0.3)
        assert backend.spoken == []
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        app.screen.query_one("#voice-path").value = "/any/file.wav"  # the fake hears "hello"
        await pilot.click("#voice-file")
        await until(pilot, lambda: len(backend.spoken) == 1)
        assert backend.spoken[0].strip() == backend.reply


@pytest.mark.real_model
async def test_spoken_answer_without_a_speaker_goes_to_a_file(
    tui_config: Any, services: Any, tmp_path: Path
) -> None:
    wav = tmp_path / "question.wav"
    speak("What is the capital of France?", wav)
    backend = LocalBackend(services)
    out = backend.config.data_dir / "voice" / "last-answer.wav"
    out.unlink(missing_ok=True)
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        app.screen.query_one("#voice-path").value = str(wav)
        await pilot.click("#voice-file")
        try:
            await until(pilot, out.exists, timeout=300)
        except AssertionError:
            notes = [n.message for n in app._notifications]
            views = [v.text for v in app.screen.query("MessageView")]
            raise AssertionError(f"no answer audio; notes {notes}; chat {views}") from None
        await asyncio.sleep(0.2)
        assert len(read_wav(out)) > 16000 * 0.5  # over half a second of answer
