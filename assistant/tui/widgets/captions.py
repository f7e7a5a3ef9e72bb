"""The live-captions view: committed lines in normal text, the partial tail dimmed, and each
translated line under the sentence it came from."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static


class CaptionsView(VerticalScroll):
    """Shows caption events as they arrive."""

    DEFAULT_CSS = """
    CaptionsView { height: 1fr; border: round $primary-darken-2; padding: 0 1; }
    CaptionsView .committed { color: $text; }
    CaptionsView .partial { color: $text-muted; text-style: italic; }
    CaptionsView .translated { color: $accent; padding-left: 2; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._partial = Static("", classes="partial")
        self.committed: list[str] = []
        self.translated: list[str] = []

    def on_mount(self) -> None:
        self.mount(self._partial)

    def clear_captions(self) -> None:
        for child in list(self.children):
            if child is not self._partial:
                child.remove()
        self._partial.update("")
        self.committed.clear()
        self.translated.clear()

    def add_event(self, kind: str, text: str) -> None:
        """Apply one event: partial replaces the tail; committed and translated append."""
        if kind == "partial":
            self._partial.update(text)
        elif kind == "committed":
            self.committed.append(text)
            self.mount(Static(text, classes="committed"), before=self._partial)
            self._partial.update("")
        elif kind == "translated":
            self.translated.append(text)
            self.mount(Static(f"→ {text}", classes="translated"), before=self._partial)
        self.scroll_end(animate=False)
