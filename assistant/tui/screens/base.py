"""What every screen shares: typed access to the app's backend (the service layer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from assistant.tui.app import AssistantApp
    from assistant.tui.backend import Backend


class AppScreen(Screen[None]):
    """A screen of the assistant app."""

    @property
    def assistant_app(self) -> AssistantApp:
        return self.app  # type: ignore[return-value]

    @property
    def backend(self) -> Backend:
        return self.assistant_app.backend
