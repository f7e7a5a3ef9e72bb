"""Boundaries, prompt windows and card-number detection."""

from __future__ import annotations

from skills.autocomplete.text import (
    cut_code,
    cut_prose,
    has_card_number,
    is_luhn_number,
    partial_word,
    reached_boundary,
    window_start,
)


def test_prose_cuts_at_sentence_line_and_half_words() -> None:
    assert cut_prose(" next Tuesday. We will", finished=False) == " next Tuesday."
    assert cut_prose("ld is big\nand", finished=True) == "ld is big"
    assert cut_prose(" the quick bro", finished=False) == " the quick"
    assert cut_prose("ld", finished=False) == "ld"  # a lone piece is kept: it completes the word
    assert cut_prose("v3.5 is out", finished=True) == "v3.5 is out"


def test_code_cuts_at_statement_or_block_end() -> None:
    assert cut_code("a + b\n    return c", "    c = ") == "a + b"
    block = "for x in xs:\n        total += x\n    return total"
    assert cut_code(block, "    ") == "for x in xs:\n        total += x"
    assert cut_code("pass\n\nclass B:", "    ") == "pass"
    assert reached_boundary("x\n", "code", "y = ") and not reached_boundary("x\n", "code", "")


def test_window_start_is_stable_until_the_text_outgrows_it() -> None:
    text = "word " * 100  # 500 chars
    s1 = window_start(text, None, 200)
    assert 0 < s1 and len(text) - s1 <= 200 and text[s1 - 1] == " "
    assert window_start(text + "more", s1, 200) == s1
    grown = text + "x " * 60
    assert window_start(grown, s1, 200) > s1
    assert window_start("short", 7, 200) == 0


def test_partial_word() -> None:
    assert (
        partial_word("Hello wor") == "wor" and partial_word("Hello ") == "" and partial_word("it's") == "it's"
    )


def test_card_numbers_by_luhn() -> None:
    assert is_luhn_number("4111111111111111") and not is_luhn_number("4111111111111112")
    assert has_card_number("card 4111 1111 1111 1111 exp 12/29")
    assert has_card_number("5500-0000-0000-0004")
    assert not has_card_number("call 4111 1111 1111 1112")
    assert not has_card_number("order 12345 shipped")
