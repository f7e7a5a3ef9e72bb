"""Word completion: document words first, then the vocabulary ranked by frequency; case rules."""

from __future__ import annotations

from skills.autocomplete.lexicon import Lexicon, complete_word, document_words, word_part


def test_lexicon_returns_the_most_frequent_longer_words_first() -> None:
    lex = Lexicon(["the", "that", "this", "then", "theory", "th"])
    # "the" is one letter on: completing it would save no key press
    assert lex.complete("th", 3) == ["that", "this", "then"]
    assert lex.complete("Th", 1) == ["That"]  # typed case kept
    assert lex.complete("the", 3) == ["theory"]  # one more letter saves nothing: "then" is left out
    assert lex.complete("zz") == [] and lex.complete("") == []


def test_document_words_rank_by_use_then_recency_and_skip_the_word_being_typed() -> None:
    words = document_words("budget report budget review rep", "", "prose", "rep")
    assert words[:3] == ["budget", "review", "report"]
    assert "rep" not in words


def test_completion_prefers_document_words_over_the_vocabulary() -> None:
    lex = Lexicon(["budge", "budgie", "budget"])
    assert complete_word("bud", "prose", "the budget is tight. The bud", "", lex, 2) == ["get", "ge"]
    assert complete_word("Bud", "prose", "the budget. Bud", "", lex, 1) == ["get"]
    assert complete_word("", "prose", "text ", "", lex) == []


def test_code_completion_is_case_exact_and_reads_the_suffix() -> None:
    got = complete_word(
        "coun", "code", "x = coun", "\nprint(count_words(x), Counter)\n", Lexicon(["country"]), 3
    )
    assert got == ["t_words", "try"]  # "Counter" differs in case; the vocabulary fills the rest


def test_word_part_by_kind() -> None:
    assert word_part("foo.bar_ba", "code") == "bar_ba"
    assert word_part("don't wa", "prose") == "wa"
    assert word_part("ends with space ", "prose") == ""
    assert word_part("x = 12", "code") == ""
