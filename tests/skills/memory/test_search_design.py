"""The ranking trade-offs of the fast search design, the vector index's shortlist, and schema v2."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import skills.memory.search as search_mod
import skills.memory.store as store_mod
from skills.memory import Caller, MemoryOptions, MemorySkill, SearchOptions, StoreOptions
from skills.memory.model import Filters
from skills.memory.search import term_counts
from skills.memory.vectors import VectorIndex

USER = Caller.user()


def _push_history(mem: MemorySkill) -> int:
    """Push one old event that says 'alpha' three times, then 30 newer ones that say it once."""
    now = time.time()
    old = mem.push(
        Caller("notes"),
        {"kind": "note", "title": "alpha alpha alpha", "body": "short", "created": now - 3600},
    ).id
    mem.push_batch(
        Caller("notes"),
        [
            {
                "kind": "note",
                "title": f"alpha plus filler words number {w}",
                "body": "more filler text here",
                "created": now - 60 + i,
            }
            for i, w in enumerate(["one", "two", "three", "four", "five", "six"] * 5)
        ],
    )
    return old


def test_bm25_is_exact_only_inside_the_newest_candidate_window(make_memory: Any) -> None:
    mem = make_memory(embedder=None)
    old = _push_history(mem)
    wide = mem.search(USER, "alpha", SearchOptions(mode="keyword", candidates=100))
    assert wide[0].event.id == old  # inside the window, tf=3 in a short event wins over recency
    narrow = mem.search(USER, "alpha", SearchOptions(mode="keyword", candidates=10))
    # The trade-off: only the newest 10 matches are scored, so the better but older match is not seen.
    assert old not in {h.event.id for h in narrow} and len(narrow) == 10


def test_a_rare_term_reaches_back_past_newer_common_matches(make_memory: Any) -> None:
    mem = make_memory(embedder=None)
    now = time.time()
    both = mem.push(
        Caller("mail"),
        {"kind": "message", "title": "meeting zanzibar budget", "created": now - 30 * 86400 + 3600},
    ).id
    rare = mem.push(
        Caller("mail"), {"kind": "message", "title": "zanzibar trip photos", "created": now - 20 * 86400}
    ).id
    mem.push_batch(
        Caller("mail"),
        [{"kind": "message", "title": f"team meeting {i}", "created": now - 100 + i} for i in range(40)],
    )
    hits = mem.search(USER, "meeting zanzibar", SearchOptions(mode="keyword", candidates=10))
    # "meeting" is in 41 of 42 events (over COMMON), so the AND query runs on "zanzibar" alone;
    # both old zanzibar events still come first, past 40 newer "meeting" events.
    assert {h.event.id for h in hits[:2]} == {both, rare}
    by_id = {h.event.id: h for h in hits}
    # BM25 still counts "meeting" (a tiny idf): equal lengths, so the event with both terms scores higher.
    assert by_id[both].bm25 > by_id[rare].bm25


def test_and_query_window_bounds_how_far_back_an_and_reaches(
    make_memory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mem = make_memory(embedder=None)
    now = time.time()
    both = mem.push(Caller("a"), {"kind": "note", "title": "kiwi mango", "created": now - 5000}).id
    mem.push_batch(
        Caller("a"),
        [{"kind": "note", "title": f"kiwi {i}", "created": now - 4000 + i} for i in range(30)]
        + [{"kind": "note", "title": f"mango {i}", "created": now - 3000 + i} for i in range(30)],
    )
    opts = SearchOptions(mode="keyword", candidates=20, limit=3)
    assert mem.search(USER, "kiwi mango", opts)[0].event.id == both
    # A budget of ~10 doclist entries limits the AND to the newest few ids; the old event with
    # both terms is then older than the AND window and than each term's own newest 10 matches.
    monkeypatch.setattr(search_mod, "AND_BUDGET", 10)
    assert both not in {h.event.id for h in mem.search(USER, "kiwi mango", opts)}


def test_term_counts_match_whole_tokens_like_fts() -> None:
    low = 'teams team team_lead meeting {"people":["ana"],"files":[],"places":[]}'.lower()
    tfs, length = term_counts(low, ["team", "lead", "people", "meet"])
    assert tfs == [2, 1, 0, 0]  # "teams" is not "team"; "_" separates tokens; JSON keys discounted
    assert length >= 4
    tfs, _ = term_counts("café cafe résumé".lower(), ["cafe", "resume"])
    assert tfs == [2, 1]  # non-ASCII text goes through the unicode61-compatible tokenizer


def test_vector_top_matches_exact_search_and_filters() -> None:
    rng = np.random.default_rng(3)
    n, dim = 12_000, 384
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    now = time.time()
    idx = VectorIndex(dim)
    idx.add(
        list(range(1, n + 1)),
        vecs,
        [("mail" if i % 3 else "chat", "message", now - i, now + 1e6) for i in range(n)],
    )
    noise = rng.standard_normal(dim).astype(np.float32)
    q = vecs[17] + 0.5 * noise / np.linalg.norm(noise)
    q /= np.linalg.norm(q)
    exact = (vecs @ q).argsort()[::-1][:10] + 1
    got = idx.top(q, 10, None, Filters(), now)  # n > 2 x shortlist: the sign-bit path runs
    assert (
        got[0][0] == 18 and len({i for i, _ in got} & {int(i) for i in exact}) >= 8
    )  # int8 noise may swap near-ties
    assert abs(got[0][1] - float(vecs[17] @ q)) < 0.02
    chat = idx.top(q, 10, {"chat"}, Filters(), now)
    assert chat and all((i - 1) % 3 == 0 for i, _ in chat)
    cos = idx.cosines(q, [18, 5, 99_999])
    assert set(cos) == {18, 5} and abs(cos[5] - float(vecs[4] @ q)) < 0.02


def test_v1_database_migrates_to_v2_and_stays_searchable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opts = MemoryOptions(StoreOptions(tmp_path / "m.db", key_source="file"), background=False)
    with monkeypatch.context() as m:
        m.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:1])
        mem = MemorySkill(opts)
        mem.push_batch(
            Caller("mail"),
            [
                {
                    "kind": "message",
                    "title": "Lisbon lease",
                    "idempotency_key": "k1",
                    "entities": {"people": ["Ana Lima"]},
                },
                {"kind": "note", "title": "milk"},
            ],
        )
        mem.close()
    mem = MemorySkill(opts)
    try:
        s = mem.store
        assert s.meta("schema_version", "0") == "2"
        assert "detail=none" in s.query("SELECT sql FROM sqlite_master WHERE name = 'events_fts'")[0][0]
        assert (
            "WHERE idem IS NOT NULL"
            in s.query("SELECT sql FROM sqlite_master WHERE name = 'events_app_idem'")[0][0]
        )
        assert [h.event.title for h in mem.search(USER, "ana lisbon", SearchOptions(mode="keyword"))] == [
            "Lisbon lease"
        ]
        assert mem.push(
            Caller("mail"), {"kind": "message", "title": "again", "idempotency_key": "k1"}
        ).duplicate
        assert s.query("INSERT INTO events_fts(events_fts) VALUES ('integrity-check')") == []
    finally:
        mem.close()
