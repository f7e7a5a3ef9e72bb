"""What the TUI tests share: waiting for a Textual app to reach a state while it keeps running."""

from __future__ import annotations

from typing import Any, Callable


async def until(pilot: Any, cond: Callable[[], object], timeout: float = 60.0) -> None:
    """Let the app run until cond() is true; fail after timeout seconds."""
    for _ in range(int(timeout * 10)):
        if cond():
            return
        await pilot.pause(0.1)
    if not cond():
        raise AssertionError(f"condition not reached in {timeout:.0f} s")
