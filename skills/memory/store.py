"""The memory database: SQLite through sqlite-utils on a SQLCipher connection, WAL, versioned schema.

Tables: events (AUTOINCREMENT ids, so ids only grow and id order is ingest order), events_fts
(contentless FTS5 with contentless_delete, so the text is stored once, in events), embeddings
(int8 vectors with a per-vector scale), grants (apps the user lets read across apps), meta.
All access goes through one connection under one lock; WAL lets other processes read meanwhile.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from skills.memory.ingest import Batch
from skills.memory.keys import load_key
from skills.memory.model import Entities, Event, PushResult, Retention, StoreError

SCHEMA_VERSION = 1
EVENT_COLS = "id, app, kind, title, body, uri, entities, sensitivity, created, expires, redactions"
_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit
_EVENT_INSERT = (
    "INSERT INTO events (id, app, kind, title, body, uri, entities, sensitivity, created, expires, "
    "redactions, idem) VALUES (?,?,?,?,?,?,?,?,?,?,?,"
)
INSERT_KEYED = _EVENT_INSERT + "?)"
INSERT_UNKEYED = _EVENT_INSERT + "NULL)"  # see Batch: a literal NULL inserts faster than a bound one


@dataclass(frozen=True)
class StoreOptions:
    """Where and how the database is kept.

    encrypt: True for SQLCipher (the default). False only when the user explicitly opts out; the
        choice is recorded beside the database (`<db>.plain`) and shown by `assistant memory stats`.
    key_source: "auto" (keyring, else a 0600 key file with a warning), "keyring" or "file".
    synchronous: "FULL" makes every acknowledged push survive power loss, not only a crash.
    """

    path: Path
    encrypt: bool = True
    key_source: str = "auto"
    synchronous: str = "FULL"


def _v1(db: Any) -> None:
    db.execute("""CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL,
        body TEXT NOT NULL, uri TEXT NOT NULL, entities TEXT NOT NULL, sensitivity TEXT NOT NULL,
        created REAL NOT NULL, expires REAL NOT NULL, idem TEXT, redactions INTEGER NOT NULL DEFAULT 0)""")
    db["events"].create_index(["app", "idem"], index_name="events_app_idem", unique=True)
    db["events"].create_index(["app", "created"], index_name="events_app_created")
    db["events"].create_index(["expires"], index_name="events_expires")
    db["events"].create_index(["created"], index_name="events_created")  # browse by time across apps
    db.execute(
        "CREATE VIRTUAL TABLE events_fts USING fts5(title, body, uri, entities, content='', "
        "contentless_delete=1, tokenize='unicode61 remove_diacritics 2')"
    )
    db["embeddings"].create({"event_id": int, "scale": float, "vec": bytes}, pk="event_id")
    db["grants"].create({"app": str, "granted": float}, pk="app")


FTS_V2 = (
    "CREATE VIRTUAL TABLE events_fts USING fts5(title, body, uri, entities, content='', contentless_delete=1, "
    "detail=none, tokenize='unicode61 remove_diacritics 2')"
)


def _v2(db: Any) -> None:
    """Make ingest cheaper: an FTS index without positions, and no idempotency entries for keyless rows.

    detail=none drops token positions: search only ever matches single tokens and computes BM25
    itself, so positions were never read, yet writing them was a third of the FTS cost. automerge 8
    (default 4) merges FTS segments less often during small-batch ingest. The (app, idem) index
    only needs rows that carry a key; a partial index skips the rest.
    """
    db.execute("DROP TABLE events_fts")
    db.execute(FTS_V2)
    db.execute("INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 8)")
    rows = db.execute("SELECT id, title, body, uri, entities FROM events ORDER BY id").fetchall()
    db.conn.executemany(
        "INSERT INTO events_fts (rowid, title, body, uri, entities) VALUES (?,?,?,?,?)",
        [(r[0], r[1], r[2], r[3], entities_text(r[4])) for r in rows],
    )
    db.execute("DROP INDEX events_app_idem")
    db.execute("CREATE UNIQUE INDEX events_app_idem ON events(app, idem) WHERE idem IS NOT NULL")


def entities_text(entities_json: str) -> str:
    """Return the names in a stored entities JSON as one line, as the FTS index holds them."""
    ents = json.loads(entities_json)
    return " ".join(v for t in ("people", "files", "places") for v in ents.get(t, ()))


# Migration n turns schema n-1 into n; append, never edit, once released.
MIGRATIONS: list[Callable[[Any], None]] = [_v1, _v2]


class MemoryStore:
    """Owns the connection. Every method is thread-safe."""

    def __init__(self, options: StoreOptions) -> None:
        import sqlite_utils

        self.options = options
        self.path = Path(options.path)
        self.lock = threading.RLock()
        self._depth = 0
        self.encrypted, self.key_source = self._decide_encryption()
        self.conn = self._connect()
        self.db = sqlite_utils.Database(self.conn)
        self._migrate()

    # -- opening ------------------------------------------------------------------------------
    def _decide_encryption(self) -> tuple[bool, str | None]:
        marker = self.path.with_name(self.path.name + ".plain")
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists and marker.exists():
            return False, None  # the user opted out when this database was made; stats says so
        if not self.options.encrypt:
            if exists:
                raise StoreError(
                    f"{self.path} is encrypted; encryption cannot be turned off in place",
                    "forget everything and remove the file first, then opt out",
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("the user opted out of memory encryption\n")
            return False, None
        return True, None

    def _connect(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Create the file ourselves so it is 0600 from the first byte; SQLite gives -wal/-shm the same mode.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        try:
            import sqlcipher3
        except ImportError:
            raise StoreError("memory needs the sqlcipher3 package", "pip install sqlcipher3") from None
        # Unencrypted databases use the same bundled SQLite, just without a key: the system
        # sqlite3 may be too old for FTS5 contentless_delete (3.43+).
        conn = sqlcipher3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        error: type[Exception] = sqlcipher3.DatabaseError
        if self.encrypted:
            key = load_key(self.path, self.options.key_source)
            self.key_source = key.source
            conn.execute(f"PRAGMA key = \"x'{key.hex}'\"")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except error:
            conn.close()
            raise StoreError(
                f"cannot open {self.path}: wrong key or not a memory database",
                f"restore the key ({self.key_source or 'none'}) or move the file away",
            ) from None
        conn.execute("PRAGMA journal_mode = WAL")
        sync = self.options.synchronous.upper()
        if sync not in ("FULL", "NORMAL", "EXTRA"):
            raise StoreError(f"synchronous={sync!r} is not allowed", "use FULL, NORMAL or EXTRA")
        conn.execute(f"PRAGMA synchronous = {sync}")
        conn.execute("PRAGMA secure_delete = ON")  # forgotten text is zeroed, not left in free pages
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA cache_size = -65536")
        return conn

    def _migrate(self) -> None:
        with self.lock, self.tx():
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            current = int(self.meta("schema_version", "0"))
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} has schema {current}, newer than this version knows ({len(MIGRATIONS)})",
                    "upgrade assistant to read it",
                )
            for version in range(current + 1, len(MIGRATIONS) + 1):
                MIGRATIONS[version - 1](self.db)
                self.set_meta("schema_version", str(version))

    def close(self) -> None:
        with self.lock:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except Exception:  # another process may hold the WAL; it checkpoints later
                pass
            self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[None]:
        """Run a write transaction (BEGIN IMMEDIATE, so writers queue instead of deadlocking)."""
        with self.lock:
            if self._depth:  # nested: the outer transaction commits or rolls back for both
                yield
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    # -- meta ---------------------------------------------------------------------------------
    def meta(self, key: str, default: str) -> str:
        with self.lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                "excluded.value",
                (key, value),
            )

    def retention(self) -> Retention:
        raw = self.meta("retention", "")
        if not raw:
            return Retention()
        data = json.loads(raw)
        return Retention(float(data["default"]), {k: float(v) for k, v in data["kinds"].items()})

    def set_retention(self, r: Retention, now: float) -> int:
        """Store the policy and re-apply it to stored events; return how many expiries changed."""
        with self.tx():
            self.set_meta("retention", json.dumps({"default": r.default, "kinds": dict(r.kinds)}))
            changed = 0
            for kind, ttl in r.kinds.items():
                changed += self.conn.execute(
                    "UPDATE events SET expires = created + ? WHERE kind = ? AND expires != created + ?",
                    (ttl, kind, ttl),
                ).rowcount
            known = list(r.kinds)
            marks = ",".join("?" * len(known))
            where = f"kind NOT IN ({marks}) AND " if known else ""
            changed += self.conn.execute(
                f"UPDATE events SET expires = created + ? WHERE {where}expires != created + ?",
                (r.default, *known, r.default),
            ).rowcount
        return changed

    # -- writes -------------------------------------------------------------------------------
    def insert(self, batch: Batch) -> list[PushResult]:
        """Insert a prepared batch in one transaction; rows whose (app, idempotency key) exists return the stored id."""
        rows, texts = batch.events, batch.texts
        with self.tx():
            row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            next_id = (row[0] if row else 0) + 1
            results: list[PushResult] = []
            add = results.append
            if batch.keyed:
                rows, texts = self._dedupe(rows, texts, next_id, results)
                keyed = [r for r in rows if len(r) == 12]
                if keyed:
                    self.conn.executemany(INSERT_KEYED, keyed)
                    rows = [r for r in rows if len(r) == 11]
            else:  # the common case: every row is new, ids are consecutive
                for eid, r, t in zip(itertools.count(next_id), rows, texts):
                    r[0] = t[0] = eid
                    add(PushResult(eid, False, r[10]))
            if rows:
                self.conn.executemany(INSERT_UNKEYED, rows)
            if texts:
                self.conn.executemany(
                    "INSERT INTO events_fts (rowid, title, body, uri, entities) VALUES (?,?,?,?,?)", texts
                )
        return results

    def _dedupe(
        self, rows: list[list[Any]], texts: list[list[Any]], next_id: int, results: list[PushResult]
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        """Assign ids to the rows not stored yet and return them; append every row's result to results."""
        seen: dict[tuple[str, str], int] = {}
        keyed: dict[str, list[str]] = {}
        for r in rows:
            if len(r) == 12:
                keyed.setdefault(r[1], []).append(r[11])
        for app, keys in keyed.items():
            for chunk in _chunks(keys):
                q = f"SELECT idem, id FROM events WHERE app = ? AND idem IN ({','.join('?' * len(chunk))})"
                for idem, eid in self.conn.execute(q, (app, *chunk)):
                    seen[(app, idem)] = eid
        new_rows, new_texts = [], []
        eid = next_id
        for r, t in zip(rows, texts):
            k = (r[1], r[11]) if len(r) == 12 else None
            if k is not None:
                old = seen.get(k)
                if old is not None:
                    results.append(PushResult(old, duplicate=True))
                    continue
                seen[k] = eid
            r[0] = t[0] = eid
            new_rows.append(r)
            new_texts.append(t)
            results.append(PushResult(eid, False, r[10]))
            eid += 1
        return new_rows, new_texts

    def delete_ids(self, ids: Iterable[int]) -> int:
        """Remove events from the table, the FTS index and the embeddings; return how many existed."""
        ids = list(ids)
        n = 0
        with self.tx():
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                n += self.conn.execute(f"DELETE FROM events WHERE id IN ({marks})", chunk).rowcount
                self.conn.execute(f"DELETE FROM events_fts WHERE rowid IN ({marks})", chunk)
                self.conn.execute(f"DELETE FROM embeddings WHERE event_id IN ({marks})", chunk)
        return n

    def ids_where(self, where: str, params: Sequence[Any]) -> list[int]:
        with self.lock:
            return [r[0] for r in self.conn.execute(f"SELECT id FROM events WHERE {where}", params)]

    def put_embeddings(self, items: Sequence[tuple[int, float, bytes]]) -> None:
        """Store (event id, scale, int8 bytes); events forgotten meanwhile are skipped."""
        with self.tx():
            self.conn.executemany(
                "INSERT OR REPLACE INTO embeddings (event_id, scale, vec) SELECT ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM events WHERE id = ?)",
                [(i, s, v, i) for i, s, v in items],
            )

    # -- reads --------------------------------------------------------------------------------
    def get(self, ids: Sequence[int]) -> dict[int, Event]:
        """Return the events with these ids that still exist."""
        out: dict[int, Event] = {}
        with self.lock:
            for chunk in _chunks(list(ids)):
                q = f"SELECT {EVENT_COLS} FROM events WHERE id IN ({','.join('?' * len(chunk))})"
                for row in self.conn.execute(q, chunk):
                    out[row[0]] = to_event(row)
        return out

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return list(self.conn.execute(sql, params))

    def grants(self) -> set[str]:
        return {r[0] for r in self.query("SELECT app FROM grants")}

    def file_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            if p.exists():
                total += p.stat().st_size
        return total


def to_event(row: Sequence[Any]) -> Event:
    ents = json.loads(row[6])
    return Event(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        Entities(tuple(ents.get("people", ())), tuple(ents.get("files", ())), tuple(ents.get("places", ()))),
        row[7],
        row[8],
        row[9],
        row[10],
    )


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
