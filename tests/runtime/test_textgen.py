from __future__ import annotations

import pytest

from runtime.errors import ContextOverflow
from runtime.engines.textgen import StopScanner, fit_context


def feed_all(stops: tuple[str, ...], pieces: list[str]) -> tuple[str, bool]:
    s = StopScanner(stops)
    out = "".join(s.feed(p) for p in pieces) + s.flush()
    return out, s.stopped


def test_stop_string_split_across_pieces_is_never_emitted() -> None:
    out, stopped = feed_all(("<|im_end|>",), ["Hello", " world<|im", "_end|>more"])
    assert out == "Hello world"
    assert stopped


def test_partial_stop_prefix_that_never_completes_is_flushed() -> None:
    out, stopped = feed_all(("\n\n",), ["line one\n", "line two"])
    assert out == "line one\nline two"
    assert not stopped


def test_earliest_of_several_stops_wins() -> None:
    out, _ = feed_all(("END", "\n"), ["abc\ndefEND"])
    assert out == "abc"


def test_held_text_is_released_once_it_cannot_be_a_stop() -> None:
    s = StopScanner(("STOP",))
    assert s.feed("ST") == ""
    assert s.feed("x") == "STx"


def test_fit_context_errors_by_default_with_counts() -> None:
    with pytest.raises(ContextOverflow) as ei:
        fit_context(list(range(100)), 50, 120, "error", "m")
    assert (
        "100 tokens" in str(ei.value) and "120-token" in str(ei.value) and "truncate_start" in str(ei.value)
    )


def test_fit_context_truncate_start_keeps_the_newest_tokens() -> None:
    toks, max_tokens, dropped = fit_context(list(range(100)), 50, 120, "truncate_start", "m")
    assert dropped == 30 and toks[0] == 30 and toks[-1] == 99
    assert len(toks) + max_tokens <= 120


def test_fit_context_leaves_fitting_prompts_alone() -> None:
    assert fit_context([1, 2, 3], 10, 100, "error", "m") == ([1, 2, 3], 10, 0)
