"""Engine-independent pieces of text generation: stop-sequence holding and context policy."""

from __future__ import annotations

from typing import Iterator, Sequence

from runtime.errors import ContextOverflow
from runtime.engines.base import Completion, TokenEvent


class StopScanner:
    """Turns a stream of decoded text into safe-to-emit text, cutting at the first stop string.

    Text that could still become the start of a stop string is held back until it cannot,
    so a caller never sees part of a stop sequence.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Add decoded text; return what can be emitted now."""
        if self.stopped:
            return ""
        self._pending += text
        if not self.stops:
            out, self._pending = self._pending, ""
            return out
        first = min((i for i in (self._pending.find(s) for s in self.stops) if i >= 0), default=-1)
        if first >= 0:
            self.stopped = True
            out, self._pending = self._pending[:first], ""
            return out
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self._pending)), 0, -1):
                if self._pending.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        cut = len(self._pending) - hold
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out

    def flush(self) -> str:
        """Return held-back text at the end of generation (it never became a stop string)."""
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out


def fit_context(
    tokens: list[int], max_tokens: int, n_ctx: int, policy: str, model_id: str
) -> tuple[list[int], int, int]:
    """Return (tokens, max_tokens, dropped) that fit n_ctx under the truncation policy.

    Never truncates silently: "error" raises ContextOverflow, "truncate_start" drops the oldest
    prompt tokens and reports how many were dropped.
    """
    if len(tokens) >= n_ctx or len(tokens) + max_tokens > n_ctx:
        if policy == "truncate_start":
            keep = max(1, n_ctx - max_tokens)
            if keep >= n_ctx:
                keep = n_ctx // 2
            dropped = max(0, len(tokens) - keep)
            tokens = tokens[dropped:]
            return tokens, min(max_tokens, n_ctx - len(tokens)), dropped
        raise ContextOverflow(
            f"prompt of {len(tokens)} tokens plus max_tokens={max_tokens} exceeds the {n_ctx}-token "
            f"context of {model_id}",
            "shorten the input, lower max_tokens, or set truncation='truncate_start' to drop the oldest tokens",
        )
    return tokens, max_tokens, 0


def collect(stream: Iterator[TokenEvent]) -> Completion:
    """Drain a token stream into a Completion, keeping the generator's returned stats."""
    parts: list[str] = []
    while True:
        try:
            parts.append(next(stream).text)
        except StopIteration as stop:
            return Completion("".join(parts), stop.value)
