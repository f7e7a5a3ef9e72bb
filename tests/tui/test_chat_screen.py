"""Pilot drives the real app against the real runtime with the small shipped model."""

from __future__ import annotations

import pytest

from assistant.tui.app import make_app
from assistant.tui.backend import LocalBackend

pytestmark = pytest.mark.real_model


async def _wait_reply(pilot, app, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    screen = app.screen
    for _ in range(int(timeout * 10)):
        await pilot.pause(0.1)
        if not screen.generating:
            return
    raise AssertionError("reply did not finish")


async def test_send_a_chat_and_see_the_streamed_reply(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#prompt")
        await pilot.press(*"What color is the sky?")
        await pilot.press("enter")
        await pilot.pause(0.05)
        await _wait_reply(pilot, app)
        views = list(app.screen.query("MessageView"))
        assert [v.role for v in views] == ["user", "assistant"]
        reply = views[1].text
        assert views[1].updates >= 3  # streamed piece by piece, then the final text
        assert len(reply.split()) >= 2 and "error" not in reply.lower()
        stored = app.conversations.messages(app.screen.conversation.id)
        assert [m.role for m in stored] == ["user", "assistant"]
        assert stored[1].content == reply
        # the conversation took its title from the first question
        assert app.conversations.list()[0].title.startswith("What color")


async def test_stop_key_cancels_generation(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#prompt")
        await pilot.press(*"Write a very long story about the sea, with many chapters.")
        await pilot.press("enter")
        await pilot.pause(0.5)
        await pilot.press("escape")
        await _wait_reply(pilot, app, timeout=90)
        reply = list(app.screen.query("MessageView"))[1].text
        assert "(stopped)" in reply


async def test_conversations_rename_and_delete(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n")
        assert len(app.conversations.list()) == 2
        await pilot.press("ctrl+r")
        rename = app.screen.query_one("#rename")
        rename.value = ""
        await pilot.press(*"Trip plans", "enter")
        assert any(c.title == "Trip plans" for c in app.conversations.list())
        lv = app.screen.query_one("#conversations")
        lv.focus()
        titles = [c.title for c in app.conversations.list()]
        lv.index = titles.index("Trip plans")
        await pilot.press("delete")
        assert [c.title for c in app.conversations.list()] == ["New chat"]


async def test_models_screen_lists_catalog_and_devices(tui_config, services) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press("f4")
        await pilot.pause(1.0)
        table = app.screen.query_one("#models-table")
        ids = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert "smollm2-135m" in ids and "qwen2.5-coder-0.5b" in ids
        devices = app.screen.query_one("#devices-table")
        assert devices.row_count == 3
        assert "cpu" in str(devices.get_row_at(0)[1])


async def test_pull_a_model_from_a_local_file(tui_config, services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Add a GGUF from a local path through the Models screen; it shows up as installed."""
    src = services.runtime.store.ensure("smollm2-135m").path
    local = tmp_path / "my-small-model.gguf"
    local.write_bytes(src.read_bytes())
    app = make_app(tui_config, warm=False, backend=LocalBackend(services))
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press("f4")
        await pilot.pause(0.5)
        app.screen.query_one("#add-path").value = str(local)
        await pilot.click("#add")
        for _ in range(100):
            await pilot.pause(0.1)
            if "added" in str(app.screen.query_one("#model-status").render()):
                break
        assert "added my-small-model" in str(app.screen.query_one("#model-status").render())
        assert services.runtime.store.get("my-small-model").size == src.stat().st_size
    services.runtime.store.remove("my-small-model")
