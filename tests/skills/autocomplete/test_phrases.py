"""The SQLite phrase model: learning, suggesting, viewing, pausing, clearing, refusing sensitive text."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from skills.autocomplete import PhraseModel


def test_learn_suggest_view_and_clear(tmp_path: Path) -> None:
    db = tmp_path / "p.sqlite"
    pm = PhraseModel(db)
    assert pm.suggest("Best wishes, ") == []
    pm.learn("Best wishes, ", "Rui Costa")
    assert pm.suggest("Best wishes, ") == []  # seen once: not yet frequent
    pm.learn("Best wishes, ", "Rui Costa")
    assert pm.suggest("Best wishes, ") == [("Rui Costa", 2)]
    assert pm.suggest("Best wishes, R") == [("ui Costa", 2)]
    assert pm.suggest("Best wishes, X") == []
    view = pm.view()
    assert view[0].text == "Rui Costa" and view[0].count == 2 and {v.context for v in view} >= {"best wishes"}
    pm.close()
    pm = PhraseModel(db)  # persisted on disk
    assert pm.count() > 0
    assert pm.clear() > 0 and pm.count() == 0 and pm.suggest("Best wishes, ") == []
    pm.close()


def test_pause_stops_learning_but_keeps_suggesting(tmp_path: Path) -> None:
    pm = PhraseModel(tmp_path / "p.sqlite")
    pm.learn("see you ", "tomorrow")
    pm.learn("see you ", "tomorrow")
    pm.set_paused(True)
    assert pm.paused
    rep = pm.learn("thanks ", "a lot")
    assert rep.stored == 0 and rep.skipped_reason == "learning is paused"
    assert pm.learn_text("new words here").stored == 0
    assert pm.suggest("see you t") == [("omorrow", 2)]
    pm.set_paused(False)
    assert pm.learn("thanks ", "a lot").stored > 0
    pm.close()


def test_sensitive_and_card_numbers_are_never_learned(tmp_path: Path) -> None:
    db = tmp_path / "p.sqlite"
    pm = PhraseModel(db)
    assert (
        pm.learn("password: ", "hunter2", sensitive=True).skipped_reason == "the field is flagged sensitive"
    )
    assert pm.learn("my card is ", "4111 1111 1111 1111").skipped_reason == "the text holds a card number"
    rep = pm.learn_text("Pay with 4111-1111-1111-1111 today. Meet me at the station tonight.")
    assert rep.stored > 0
    assert pm.learn_text("anything", sensitive=True).stored == 0
    pm.close()
    rows = sqlite3.connect(db).execute("SELECT context || ' ' || text FROM phrases").fetchall()
    dump = " ".join(r[0] for r in rows)
    assert "4111" not in dump and "hunter2" not in dump and "station" in dump


def test_rejecting_lowers_and_removes(tmp_path: Path) -> None:
    pm = PhraseModel(tmp_path / "p.sqlite")
    pm.learn("good ", "morning")
    pm.learn("good ", "morning")
    pm.forget("good ", "morning")
    assert pm.suggest("good ") == []
    assert pm.suggest("good ", min_count=1) == [("morning", 1)]
    pm.close()


def test_opted_in_text_feeds_suggestions(tmp_path: Path) -> None:
    pm = PhraseModel(tmp_path / "p.sqlite")
    pm.learn_text("We ship on Fridays. We ship on Fridays. We ship on time.")
    assert pm.suggest("We ship o")[0] == ("n Fridays", 2)
    pm.close()
