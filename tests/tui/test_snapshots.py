"""SVG snapshots of the main screens over the deterministic demo backend (layout only; the
behaviour is tested against the real runtime in the other TUI tests)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runtime.config import Config
from assistant.tui.app import AssistantApp
from assistant.tui.conversations import ConversationStore
from assistant.tui.fake_backend import FakeBackend


@pytest.fixture
def demo_app(tmp_path: Path) -> AssistantApp:
    cfg = Config.from_env({"ASSISTANT_HOME": "/home/user/.assistant-demo"})
    store = ConversationStore(tmp_path / "conv.db")
    conv = store.create("Capital of Italy")
    store.add(conv.id, "user", "What is the capital of Italy?")
    store.add(conv.id, "assistant", "Rome is the capital of Italy.")
    return AssistantApp(FakeBackend(cfg), store, warm=False)


def test_chat_screen(snap_compare, demo_app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app, terminal_size=(110, 30), press=[*"The meeting is moved to", "_", "_", "_"])


def test_models_screen(snap_compare, demo_app) -> None:  # type: ignore[no-untyped-def]
    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("f4")
        for _ in range(50):
            await pilot.pause(0.05)
            if demo_app.screen.query_one("#loaded-table").row_count:
                break

    assert snap_compare(demo_app, terminal_size=(130, 40), run_before=ready)


def test_translate_screen(snap_compare, demo_app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app, terminal_size=(130, 40), press=["f2", "_"])


def test_memory_screen(snap_compare, demo_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    assert snap_compare(demo_app, terminal_size=(130, 40), press=["f3", "_"])


def test_settings_screen(snap_compare, demo_app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(demo_app, terminal_size=(110, 30), press=["f5", "_"])


def test_voice_screen(snap_compare, demo_app) -> None:  # type: ignore[no-untyped-def]
    async def spoken(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("f6")
        await pilot.pause(0.1)
        await pilot.press("ctrl+l")  # the demo session speaks one scripted turn and stops
        for _ in range(50):
            await pilot.pause(0.05)
            if demo_app.screen.turns and demo_app.screen.session is None:
                break

    assert snap_compare(demo_app, terminal_size=(130, 30), run_before=spoken)


async def test_command_palette_switches_screens(demo_app) -> None:  # type: ignore[no-untyped-def]
    async with demo_app.run_test(size=(110, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Go to models")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert type(demo_app.screen).__name__ == "ModelsScreen"
