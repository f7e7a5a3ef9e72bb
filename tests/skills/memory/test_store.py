"""The database file itself: encryption at rest, redaction before storing, permissions, keys, schema."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from skills.memory import Caller, MemoryOptions, MemorySkill, StoreError, StoreOptions
from skills.memory.keys import KeyFileWarning
from skills.memory.store import MIGRATIONS, MemoryStore

SECRET = "zebracorn-7731 quarterly merger with Initech"
CARD = "4111 1111 1111 1111"


def raw_bytes(db: Path) -> bytes:
    out = b""
    for suffix in ("", "-wal"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


def push_secrets(mem: MemorySkill) -> None:
    mem.push_batch(
        Caller("mail"),
        [
            {
                "kind": "message",
                "title": "Confidential",
                "body": f"{SECRET}. Pay with card {CARD}.",
                "secrets": ["hunter2-pw"],
                "uri": "mail://inbox/1",
            },
            {"kind": "note", "title": "login", "body": "my password is hunter2-pw"},
        ],
    )


def test_file_and_wal_never_hold_a_pushed_body(make_memory: Any, tmp_path: Path) -> None:
    mem = make_memory(synchronous="FULL")
    push_secrets(mem)
    assert mem.wait_embedded(10)
    db = tmp_path / "memory.db"
    assert (db.with_name("memory.db-wal")).stat().st_size > 0  # the events are in the WAL right now
    data = raw_bytes(db)
    for needle in ("zebracorn", "Initech", "4111", "hunter2", "Confidential", "mail://inbox"):
        assert needle.encode() not in data and needle.encode("utf-16-le") not in data
    mem.close()
    data = raw_bytes(db)  # after the checkpoint into the main file
    assert b"zebracorn" not in data and b"SQLite format 3" not in data
    for p in (db, db.with_name("memory.db.key")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_redacted_values_never_reach_the_file_even_unencrypted(make_memory: Any, tmp_path: Path) -> None:
    mem = make_memory("plain.db", encrypt=False)
    push_secrets(mem)
    assert mem.wait_embedded(10)
    data = raw_bytes(tmp_path / "plain.db")
    assert b"zebracorn" in data  # the check can see plaintext: this file really is unencrypted
    assert b"4111" not in data and b"hunter2" not in data
    s = mem.stats(Caller.user())
    assert s["encrypted"] is False and "opted out" in s["encryption"]
    mem.close()
    with pytest.raises(StoreError, match="cannot be turned off"):
        MemoryStore(StoreOptions(tmp_path / "enc.db", key_source="file")).close()
        MemoryStore(StoreOptions(tmp_path / "enc.db", encrypt=False))


def test_wrong_key_is_a_clear_error(make_memory: Any, tmp_path: Path) -> None:
    make_memory().close()
    key = tmp_path / "memory.db.key"
    key.write_text("ab" * 32 + "\n")
    with pytest.raises(StoreError, match="wrong key"):
        MemoryStore(StoreOptions(tmp_path / "memory.db", key_source="file"))


def test_no_keyring_falls_back_to_a_0600_key_file_with_a_warning(tmp_path: Path) -> None:
    with pytest.warns(KeyFileWarning, match="no OS keyring"):
        store = MemoryStore(StoreOptions(tmp_path / "m.db", key_source="auto"))
    assert store.key_source == str(tmp_path / "m.db.key")
    assert stat.S_IMODE(os.stat(tmp_path / "m.db.key").st_mode) == 0o600
    store.close()
    with pytest.raises(StoreError, match="no OS keyring"):
        MemoryStore(StoreOptions(tmp_path / "n.db", key_source="keyring"))


def test_schema_versions_and_migrations(tmp_path: Path) -> None:
    store = MemoryStore(StoreOptions(tmp_path / "m.db", key_source="file"))
    assert store.meta("schema_version", "0") == str(len(MIGRATIONS))
    store.set_meta("schema_version", "99")
    store.close()
    with pytest.raises(StoreError, match="schema 99, newer"):
        MemoryStore(StoreOptions(tmp_path / "m.db", key_source="file"))


def test_reopen_keeps_events_and_integrity(tmp_path: Path) -> None:
    opts = MemoryOptions(StoreOptions(tmp_path / "m.db", key_source="file"), background=False)
    mem = MemorySkill(opts)
    mem.push_batch(Caller("a"), [{"kind": "note", "title": f"note {i}"} for i in range(50)])
    mem.close()
    mem = MemorySkill(opts)
    assert mem.stats(Caller.user())["events"] == 50
    assert mem.store.query("PRAGMA integrity_check") == [("ok",)]
    assert mem.store.query("PRAGMA journal_mode") == [("wal",)]
    mem.close()
