"""A memory query is words, never FTS5 syntax: on a real encrypted store, every FTS5 operator in a
search or a reference is read as the words around it, and random Unicode never breaks a query.

Regression (issue 17): text whose Python tokens and SQLite's unicode61 tokens differ (letters newer
than SQLite's Unicode tables, "½" folded to "1⁄2") reached MATCH as a multi-token phrase, which the
detail=none index refuses: a 500 from POST /v1/memory/search.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from skills.memory import Caller, SearchOptions
from skills.memory.text import fts_phrase, fts_tokens, query_terms, tokens

NOTES = Caller("notes")
KEYWORD = SearchOptions(mode="keyword", limit=50)

# One query per FTS5 operator or special character, each around the words "alpha" and "beta".
OPERATORS = {
    "double quote": 'alpha" beta',
    "quoted phrase": '"alpha beta"',
    "prefix star": "alph* beta",
    "caret (initial token)": "^alpha beta",
    "column filter": "title:alpha beta",
    "column set": "{title body}:alpha beta",
    "minus column": "- title:alpha beta",
    "NEAR": "NEAR(alpha beta, 2)",
    "AND": "alpha AND beta",
    "OR": "alpha OR beta",
    "NOT": "alpha NOT beta",
    "parentheses": "(alpha OR (beta",
    "plus join": "alpha + beta",
    "lone operator": "AND",
    "only syntax": '"*^:()+-{}',
}


def _ids(hits: Any) -> list[int]:
    return [h.event.id for h in hits]


def _words(query: str) -> str:
    return " ".join(tokens(query))


@pytest.fixture
def mem(make_memory: Any) -> Any:
    m = make_memory(embedder=None)
    for title, body in (
        ("alpha report", "the first draft"),
        ("beta notes", "second thoughts"),
        ("alpha and beta", "both of them"),
        ("near the title", "not this one, or that"),
        ("gamma", "nothing to see"),
    ):
        m.push(NOTES, {"kind": "note", "title": title, "body": body})
    return m


@pytest.mark.parametrize("query", list(OPERATORS.values()), ids=list(OPERATORS))
def test_each_fts5_operator_is_read_as_words(mem: Any, query: str) -> None:
    hits = mem.search(NOTES, query, KEYWORD)  # raises (sqlite3 syntax error) if the text were syntax
    assert _ids(hits) == _ids(mem.search(NOTES, _words(query), KEYWORD))


@pytest.mark.parametrize("query", list(OPERATORS.values()), ids=list(OPERATORS))
def test_each_fts5_operator_in_a_reference_is_read_as_words(mem: Any, query: str) -> None:
    got = mem.resolve(NOTES, f"that note about {query}")
    want = mem.resolve(NOTES, f"that note about {_words(query)}")
    assert [c.event.id for c in got] == [c.event.id for c in want]


def test_operators_are_words_that_can_match(mem: Any) -> None:
    """NOT and OR are searched as the words "not" and "or" (stopwords, so only when nothing else is
    left) and NEAR as "near": the event that says them is found, none is excluded."""
    (near,) = [h.event.title for h in mem.search(NOTES, "NEAR", KEYWORD)]
    assert near == "near the title"
    titles = {h.event.title for h in mem.search(NOTES, "alpha NOT beta", KEYWORD)}
    assert {"alpha report", "beta notes", "alpha and beta"} <= titles  # NOT excluded nothing


@pytest.mark.parametrize(
    "text",
    ["½ alpha", "x\U0001e900y", "ﬁle", "㎏ beta", "e\u0301t\u00e9", "\u0130stanbul", "a\ue000b"],
    ids=["fraction", "adlam", "ligature", "square-unit", "combining", "dotted-I", "private-use"],
)
def test_text_where_python_and_sqlite_tokenize_differently(mem: Any, text: str) -> None:
    """Each term is one token of the index's own tokenizer, so no quoted term is a phrase."""
    mem.push(NOTES, {"kind": "note", "title": text})
    for term in query_terms(text):
        assert fts_tokens(term) == [term]
    hits = mem.search(NOTES, text, KEYWORD)
    assert any(h.event.title == text for h in hits)


def test_fts_phrase_quotes_quotes() -> None:
    assert fts_phrase('a"b') == '"a""b"'


hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")

# Any Unicode scalar value: hypothesis' text() leaves out surrogates (the daemon refuses those
# before they reach memory: tests/daemon/test_probe_defects.py).
TEXT = st.text(min_size=1, max_size=60)


@pytest.mark.slow
def test_random_unicode_never_breaks_search_or_resolve(make_memory: Any) -> None:
    """Property: for any text, pushing it and then searching or resolving it never raises, and a
    keyword search for it finds it whenever it has a searchable term."""
    mem = make_memory(embedder=None)
    seen = {"n": 0}

    @hypothesis.settings(max_examples=150, deadline=None, derandomize=True, database=None)
    @hypothesis.given(text=TEXT, query=TEXT)
    def check(text: str, query: str) -> None:
        seen["n"] += 1
        app = Caller(f"app{seen['n']}")  # its own app: only this event is visible to the search
        pushed = mem.push(app, {"kind": "note", "title": text, "body": text}).id
        if query_terms(text):
            assert pushed in _ids(mem.search(app, text, KEYWORD))
        for q in (query, f"{text} {query}", re.sub(r"\w", "", query) or query):
            mem.search(app, q, KEYWORD)
            mem.search(app, q, SearchOptions(mode="hybrid"))
            if q.strip():  # a blank phrase is refused (InvalidEvent, a 422 naming `text`)
                mem.resolve(app, q)

    check()
    assert seen["n"] >= 100
