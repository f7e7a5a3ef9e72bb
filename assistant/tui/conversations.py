"""Chat conversations kept in a local SQLite file: create, list, rename, delete, append messages."""

from __future__ import annotations

import builtins
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
  id INTEGER PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  role TEXT NOT NULL, content TEXT NOT NULL, citations TEXT NOT NULL DEFAULT '', created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_conv ON messages(conversation, id);
"""


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    updated: float


@dataclass(frozen=True)
class StoredMessage:
    role: str
    content: str
    citations: str = ""


class ConversationStore:
    """SQLite-backed conversations; safe to call from worker threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        if new:
            os.chmod(path, 0o600)  # conversations are private
        self._mu = threading.Lock()
        with self._mu:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)

    def create(self, title: str = "New chat") -> Conversation:
        now = time.time()
        with self._mu, self._db:
            cur = self._db.execute(
                "INSERT INTO conversations(title, created, updated) VALUES (?,?,?)", (title, now, now)
            )
        return Conversation(int(cur.lastrowid or 0), title, now)

    def list(self) -> list[Conversation]:
        with self._mu:
            rows = self._db.execute(
                "SELECT id, title, updated FROM conversations ORDER BY updated DESC"
            ).fetchall()
        return [Conversation(*r) for r in rows]

    def rename(self, conv_id: int, title: str) -> None:
        with self._mu, self._db:
            self._db.execute(
                "UPDATE conversations SET title=? WHERE id=?", (title.strip() or "Untitled", conv_id)
            )

    def delete(self, conv_id: int) -> None:
        with self._mu, self._db:
            self._db.execute("DELETE FROM conversations WHERE id=?", (conv_id,))

    def add(self, conv_id: int, role: str, content: str, citations: str = "") -> None:
        now = time.time()
        with self._mu, self._db:
            self._db.execute(
                "INSERT INTO messages(conversation, role, content, citations, created) VALUES (?,?,?,?,?)",
                (conv_id, role, content, citations, now),
            )
            self._db.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conv_id))

    def messages(self, conv_id: int) -> builtins.list[StoredMessage]:
        with self._mu:
            rows = self._db.execute(
                "SELECT role, content, citations FROM messages WHERE conversation=? ORDER BY id", (conv_id,)
            ).fetchall()
        return [StoredMessage(*r) for r in rows]

    def close(self) -> None:
        with self._mu:
            self._db.close()
