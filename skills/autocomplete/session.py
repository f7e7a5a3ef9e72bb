"""A session per (app, document) and the prediction it is following.

A Prediction is the text predicted after an anchor (prefix, suffix). A worker thread appends
generated text to it while request threads read it: the request that started it waits until a
natural boundary or its budget, later keystrokes that type the predicted characters are answered
from the remainder (type-through), and a keystroke that diverges cancels it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from runtime.engines.base import CancelToken, GenerationStats
from skills.autocomplete.text import cut, line_prefix, reached_boundary
from skills.autocomplete.types import CompleteRequest, Kind, Source


class Prediction:
    """Text predicted after (prefix, suffix); grows while a generation runs."""

    def __init__(
        self,
        prefix: str,
        suffix: str,
        kind: Kind,
        source: Source = "model",
        text: str = "",
        done: bool = False,
    ) -> None:
        self.prefix = prefix
        self.suffix = suffix
        self.kind: Kind = kind
        self.source: Source = source
        self.cond = threading.Condition()
        self.text = text
        self.done = done
        self.finished = done  # ended at a boundary or end-of-generation, not for length or budget
        self.stale = False
        self.stop = CancelToken()  # set when stale, or when the text reached a boundary
        self.stats: GenerationStats | None = None
        self.error: BaseException | None = None

    # -- written by the worker -------------------------------------------------------------------
    def add(self, piece: str) -> None:
        """Append generated text; stop the generation once a natural boundary is in it."""
        with self.cond:
            self.text += piece
            if reached_boundary(self.text, self.kind, line_prefix(self.prefix)):
                self.stop.cancel()
            self.cond.notify_all()

    def finish(self, stats: GenerationStats | None, error: BaseException | None = None) -> None:
        """Mark the generation over, keeping its numbers."""
        with self.cond:
            self.stats, self.error, self.done = stats, error, True
            self.finished = (
                error is None and not self.stale and (stats is None or stats.finish_reason != "length")
            )
            self.cond.notify_all()

    def cancel(self) -> None:
        """A newer keystroke diverged from this prediction: stop generating for it."""
        with self.cond:
            self.stale = True
            self.stop.cancel()
            self.cond.notify_all()

    # -- read by requests --------------------------------------------------------------------------
    def typed(self, req: CompleteRequest) -> str | None:
        """Return what the user typed since this prediction's anchor, if it still follows it."""
        if self.stale or req.kind != self.kind or not req.prefix.startswith(self.prefix):
            return None
        if self.kind == "code" and req.suffix != self.suffix:
            return None
        typed = req.prefix[len(self.prefix) :]
        with self.cond:
            # typing ahead of a running generation follows it while it may still agree: restarting
            # would re-evaluate the prompt and regenerate what it is producing anyway
            if self.text.startswith(typed) or (not self.done and typed.startswith(self.text)):
                return typed
        return None

    def remainder(self, typed: str, req: CompleteRequest) -> tuple[str, bool]:
        """Return (suggestion after typed, cut at its boundary; whether it is final)."""
        with self.cond:
            return self._remainder(typed, req)

    def _remainder(self, typed: str, req: CompleteRequest) -> tuple[str, bool]:
        if not self.text.startswith(typed):
            return "", self.done
        rest = self.text[len(typed) :]
        lp = line_prefix(req.prefix)
        final = self.done or reached_boundary(rest, self.kind, lp)
        return cut(rest, self.kind, lp, self.finished or not self.done and final), final

    def wait(self, typed: str, req: CompleteRequest, deadline: float) -> tuple[str, bool]:
        """Wait until the suggestion after typed is final or the deadline passes; return it and
        whether it is final (False means partial). A keystroke that types through the prediction
        gets what is already known at once: the rest arrives with the next keystrokes. (A keystroke
        typed ahead of the generation never waits here: Autocomplete.begin answers it at once.)"""
        with self.cond:
            while True:
                text, final = self._remainder(typed, req)
                if final or self.stale or (typed and text):
                    return text, final
                left = deadline - time.perf_counter()
                if left <= 0:
                    return text, False
                self.cond.wait(left)

    def behind(self, typed: str) -> bool:
        """Whether the generation is still running and has produced nothing past what was typed."""
        with self.cond:
            return not self.done and len(self.text) <= len(typed)

    def exhausted(self, typed: str, req: CompleteRequest) -> bool:
        """Whether nothing is left to suggest from this prediction after typed."""
        text, final = self.remainder(typed, req)
        return final and not text


@dataclass
class Session:
    """One app's document: its current prediction and prompt window."""

    app: str
    doc: str
    mu: threading.Lock = field(default_factory=threading.Lock)
    current: Prediction | None = None
    window: int | None = None
    model_id: str | None = None
    last_used: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.doc)
