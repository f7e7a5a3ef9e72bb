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


def test_a_finished_frequent_word_is_not_extended_into_a_rarer_one():
    # "me" is more frequent than "method" and "meeting": "send me" is finished, not "send method"
    lex = Lexicon(["the", "me", *[f"w{i}" for i in range(10)], "meeting", "method", "mee"])
    assert complete_word("me", "prose", "could you send me", "", lex, 3) == []
    assert complete_word("me", "prose", "the meeting notes. Send me", "", lex, 3) == []
    # a part that is not a word, or a rarer word than its completion, still completes
    assert complete_word("meet", "prose", "the meeting notes. The meet", "", lex, 1) == ["ing"]
    assert complete_word("mee", "prose", "x mee", "", Lexicon(["meeting", "mee"]), 1) == ["ting"]
    # a common word whose completion is not much rarer is still completed ("upd" -> "update")
    lex2 = Lexicon([*[f"a{i}" for i in range(5)], "upd", *[f"b{i}" for i in range(5)], "update"])
    assert complete_word("upd", "prose", "x upd", "", lex2, 1) == ["ate"]
    # code keeps completing short names: an identifier is usually a prefix of a longer one
    assert complete_word("me", "code", "x = me", "", lex, 1) != []


def test_lexicon_rank_is_the_frequency_order():
    lex = Lexicon(["the", "Me", "method"])
    assert (lex.rank("the"), lex.rank("me"), lex.rank("METHOD"), lex.rank("nope")) == (0, 1, 2, None)
