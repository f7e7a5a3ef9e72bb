"""Text inputs with ghost-text autocomplete: Tab accepts the whole suggestion, Ctrl+Right one word."""

from __future__ import annotations

import asyncio
import re
from typing import Callable

from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input

# suggest(prefix) -> (text to insert after prefix or None, whether a better answer is still coming)
SuggestFn = Callable[[str], "tuple[str | None, bool]"]
RETRY_SECONDS = 0.15
MAX_WAIT_SECONDS = 15.0  # keeps asking only while the text is unchanged
_WORD = re.compile(r"\s*\S+")


class ModelSuggester(Suggester):
    """A Textual suggester that asks the autocomplete skill, off the event loop."""

    def __init__(self, suggest: SuggestFn) -> None:
        # no cache: a partial (budget ran out) answer must be asked again, not remembered
        super().__init__(use_cache=False, case_sensitive=True)
        self._suggest = suggest
        self.latest = ""

    async def get_suggestion(self, value: str) -> str | None:
        self.latest = value
        waited = 0.0
        while True:
            try:
                tail, more = await asyncio.to_thread(self._suggest, value)
            except Exception:  # a failing suggestion must never break typing
                return None
            if tail:
                return value + tail
            # the model is still generating in the background: ask again while the text is unchanged
            if not more or waited >= MAX_WAIT_SECONDS or self.latest != value:
                return None
            await asyncio.sleep(RETRY_SECONDS)
            waited += RETRY_SECONDS


class GhostInput(Input):
    """An Input showing the autocomplete suggestion as dimmed text after the cursor."""

    BINDINGS = [
        Binding("tab", "accept_all", "Accept", show=False, priority=True),
        Binding("ctrl+right", "accept_word", "Accept word", show=False),
    ]

    def __init__(
        self,
        suggest: SuggestFn | None = None,
        on_accept: Callable[[str, str], None] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(suggester=ModelSuggester(suggest) if suggest else None, **kwargs)  # type: ignore[arg-type]
        self._on_accept = on_accept

    @property
    def ghost(self) -> str:
        """The part of the suggestion not typed yet."""
        s = self._suggestion
        return s[len(self.value) :] if s.startswith(self.value) else ""

    def action_accept_all(self) -> None:
        if self.ghost and self.cursor_at_end:
            self._accepted(self.value, self.ghost)
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()

    def action_accept_word(self) -> None:
        ghost = self.ghost
        if not ghost or not self.cursor_at_end:
            self.action_cursor_right_word()
            return
        m = _WORD.match(ghost)
        word = m.group(0) if m else ghost
        full = self._suggestion
        self._accepted(self.value, word)
        self.value = self.value + word
        self.cursor_position = len(self.value)
        # keep the rest of the suggestion showing: it still extends what was typed
        self._suggestion = full

    def _accepted(self, prefix: str, text: str) -> None:
        if self._on_accept is not None:
            self._on_accept(prefix, text)
