"""Pilot drives the translate, memory and chat screens against the real skills."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.tui.app import make_app
from assistant.tui.backend import LocalBackend
from tests.skills.speech.helpers import speak
from tests.tui.helpers import until

pytestmark = pytest.mark.real_model


async def test_type_see_ghost_text_and_accept_it(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    backend = LocalBackend(services)
    backend.warm("autocomplete")  # what the app does in the background at start-up
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        box = app.screen.query_one("#prompt")
        await pilot.click("#prompt")
        await pilot.press(*"The weekly meeting is moved to next")
        await until(pilot, lambda: bool(box.ghost), timeout=30)
        ghost = box.ghost
        typed = box.value
        await pilot.press("tab")
        assert box.value == typed + ghost
        assert len(box.value) > len(typed)


async def test_translate_as_you_type(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("f2")
        await pilot.pause(0.3)
        # the screen opens with the text focused: the first keys go there, not into the dropdown
        assert app.screen.focused is app.screen.query_one("#source-text")
        await pilot.press(*"Good morning. The library opens at nine.")
        out = app.screen.query_one("#target-text")
        await until(pilot, lambda: "biblioteca" in str(out.render()).lower(), timeout=30)
        info = str(app.screen.query_one("#translate-info").render())
        assert "bergamot" in info and "en" in info


async def test_live_captions_from_an_espeak_file(tui_config, services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wav = tmp_path / "speech.wav"
    speak("The weather is sunny today. We will walk to the park.", wav)
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("f2")
        await pilot.pause(0.3)
        app.screen.query_one("#target").value = "en"
        app.screen.query_one("#audio-path").value = str(wav)
        await pilot.click("#file")
        view = app.screen.query_one("#captions")
        await until(
            pilot, lambda: app.screen.query_one("#captions-stop").disabled and view.committed, timeout=120
        )
        text = " ".join(view.committed).lower()
        # under heavy CPU load the stream may skip early audio to bound its lag (and says so);
        # the end of the sentence is always heard
        assert "park" in text and len(text.split()) >= 4
        assert "RTF" in str(app.screen.query_one("#captions-stats").render())


async def test_microphone_missing_is_said_plainly(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("f2")
        await pilot.pause(0.3)
        await pilot.click("#mic")
        stats = app.screen.query_one("#captions-stats")
        await until(pilot, lambda: "file" in str(stats.render()).lower(), timeout=20)
        assert "microphone" in str(stats.render()).lower() or "audio" in str(stats.render()).lower()


async def test_memory_search_and_forget_an_event(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    backend = LocalBackend(services)
    from skills.memory.model import Caller

    mem = backend.memory()
    ev = mem.push(
        Caller("mail"),
        {
            "kind": "message",
            "title": "Quarterly budget from Priya",
            "body": "Here is the quarterly budget spreadsheet for review.",
            "entities": {"people": ["Priya Nair"]},
        },
    )
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("f3")
        await pilot.pause(0.5)
        app.screen.query_one("#memory-query").value = "quarterly budget"
        await pilot.click("#memory-search")
        table = app.screen.query_one("#memory-table")
        await until(pilot, lambda: table.row_count >= 1, timeout=20)
        assert table.get_row_at(0)[0] == str(ev.id)
        table.focus()
        await pilot.click("#forget-event")
        await until(pilot, lambda: mem.get(Caller("user", owner=True), ev.id) is None, timeout=20)
        assert not mem.search(Caller("user", owner=True), "quarterly budget")


async def test_enter_resolves_a_reference_and_searches_plain_words(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    """Enter does what the text asks: "that file" resolves to the file, not to old events that
    merely contain the word "file"; plain words are searched. The status line says which."""
    backend = LocalBackend(services)
    from skills.memory.model import Caller

    mem = backend.memory()
    noise = mem.push(
        Caller("chat"),
        {
            "kind": "message",
            "title": "file a complaint",
            "body": "we should file a complaint about the file server",
        },
    )
    doc = mem.push(
        Caller("editor"),
        {"kind": "file_opened", "title": "roadmap-2027.odt", "uri": "file:///home/u/roadmap-2027.odt"},
    )
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("f3")
        await pilot.pause(0.5)
        box = app.screen.query_one("#memory-query")
        box.focus()
        box.value = "that file"
        await pilot.press("enter")
        table = app.screen.query_one("#memory-table")
        status = app.screen.query_one("#memory-status")
        await until(pilot, lambda: "resolved" in str(status.render()), timeout=20)
        assert table.get_row_at(0)[0] == str(doc.id)
        box.value = "complaint"
        await pilot.press("enter")
        await until(pilot, lambda: "searched" in str(status.render()), timeout=20)
        assert table.get_row_at(0)[0] == str(noise.id)


async def test_chat_answer_cites_memory(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    """An answer that used cross-app memory shows its citation under the reply."""
    backend = LocalBackend(services)
    from skills.memory.model import Caller

    ev = backend.memory().push(
        Caller("mail"),
        {
            "kind": "message",
            "title": "Signed contract for the Lisbon office",
            "body": "Attached is the signed lease contract. Best, Ana Lima",
            "entities": {"people": ["Ana Lima"]},
        },
    )
    app = make_app(tui_config, warm=False, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#prompt")
        app.screen.query_one("#prompt").value = "Who sent me the signed contract?"
        await pilot.press("enter")
        await until(pilot, lambda: not app.screen.generating and len(app.screen.query("MessageView")) == 2)
        reply = list(app.screen.query("MessageView"))[1]
        await until(pilot, lambda: bool(reply.citations), timeout=5)
        assert f"[mem:{ev.id}]" in reply.citations and "mail" in reply.citations


async def test_voice_input_from_a_file_goes_into_the_chat(tui_config, services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wav = tmp_path / "question.wav"
    speak("What is the capital of France?", wav)
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        app.screen.query_one("#voice-path").value = str(wav)
        await pilot.click("#voice-file")
        await until(
            pilot,
            lambda: type(app.screen).__name__ == "ChatScreen" and len(app.screen.query("MessageView")) == 2,
            timeout=60,
        )
        asked = list(app.screen.query("MessageView"))[0].text.lower()
        assert "capital" in asked and "france" in asked


async def test_voice_without_a_microphone_says_so(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        await pilot.click("#record")
        status = app.screen.query_one("#voice-status")
        await until(pilot, lambda: "file" in str(status.render()).lower(), timeout=20)
        assert type(app.screen).__name__ == "VoiceDialog"  # stays open, offering a file instead
