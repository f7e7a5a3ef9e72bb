"""Browser history: Firefox places.sqlite and Chromium-family History databases, read from a copy
(the browser holds the live file locked), incrementally by visit time: one event per visit newer
than the profile's cursor.

Private windows are never read: browsers keep no history file for them, and profiles that look
private (privacy.py) are skipped. A profile whose files did not change since the last run costs two
stat() calls.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from skills.memory.connectors.base import ConnectorContext, Cursor, Item, Reading, idem
from skills.memory.connectors.privacy import excluded

CHROME_EPOCH = 11644473600  # seconds from 1601-01-01 (Chromium's epoch) to 1970-01-01
MAX_PER_RUN = 5000
CHROMIUM_DIRS = (
    ".config/chromium",
    ".config/google-chrome",
    ".config/BraveSoftware/Brave-Browser",
    ".config/vivaldi",
    ".config/microsoft-edge",
)
FIREFOX_DIRS = (".mozilla/firefox", "snap/firefox/common/.mozilla/firefox")
SCHEMES = ("http://", "https://", "file://")


def find_profiles(ctx: ConnectorContext) -> list[tuple[str, Path]]:
    """Return (browser, history database) for the listed paths, or the usual profile folders."""
    found: list[tuple[str, Path]] = []
    listed = [Path(p) for p in ctx.settings.paths]
    if not listed:
        listed = [ctx.home / d for d in (*FIREFOX_DIRS, *CHROMIUM_DIRS)]
    for base in listed:
        cands = (
            [base]
            if base.is_file()
            else [
                *base.glob("places.sqlite"),
                *base.glob("History"),
                *base.glob("*/places.sqlite"),
                *base.glob("*/History"),
            ]
        )
        for db in cands:
            if excluded(db, ctx.home):
                continue
            found.append(("firefox" if db.name == "places.sqlite" else _chromium_name(db), db))
    return sorted(set(found))


def _chromium_name(db: Path) -> str:
    s = str(db).lower()
    for name in ("brave", "vivaldi", "edge", "google-chrome"):
        if name in s:
            return "chrome" if name == "google-chrome" else name
    return "chromium"


def _stamp(db: Path) -> list[int]:
    out = []
    for suffix in ("", "-wal"):
        try:
            st = Path(str(db) + suffix).stat()
            out += [st.st_mtime_ns, st.st_size]
        except FileNotFoundError:
            out += [0, 0]
    return out


def _copy(db: Path, tmp: Path) -> Path:
    dst = tmp / db.name
    shutil.copyfile(db, dst)
    wal = Path(str(db) + "-wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(dst) + "-wal"))
    return dst


def _visits(browser: str, db: Path, since: float) -> list[tuple[Any, ...]]:
    """Return (visit id, unix seconds, url, title) newer than since, oldest first."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        if browser == "firefox":
            sql = (
                "SELECT v.id, v.visit_date / 1e6, p.url, coalesce(p.title, '') FROM moz_historyvisits v "
                "JOIN moz_places p ON p.id = v.place_id WHERE v.visit_date > ? ORDER BY v.visit_date LIMIT ?"
            )
            return conn.execute(sql, (int(since * 1e6), MAX_PER_RUN)).fetchall()
        sql = (
            "SELECT v.id, v.visit_time / 1e6 - ?, u.url, coalesce(u.title, '') FROM visits v "
            "JOIN urls u ON u.id = v.url WHERE v.visit_time > ? ORDER BY v.visit_time LIMIT ?"
        )
        return conn.execute(sql, (CHROME_EPOCH, int((since + CHROME_EPOCH) * 1e6), MAX_PER_RUN)).fetchall()
    finally:
        conn.close()


class BrowserHistory:
    """Pages visited in Firefox and Chromium-family browsers."""

    name = "browser"
    app = "connector:browser"
    interval = 300.0
    description = "browser history (Firefox places.sqlite, Chromium History), read from a copy"

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        profiles = find_profiles(ctx)
        state: dict[str, Any] = {k: dict(v) for k, v in cursor.get("profiles", {}).items()}
        items: list[Item] = []
        notes = []
        for browser, db in profiles:
            key = str(db)
            prof = state.setdefault(key, {"since": 0.0})
            stamp = _stamp(db)
            if prof.get("stamp") == stamp:
                continue
            with tempfile.TemporaryDirectory(prefix="assistant-browser-") as tmp:
                try:
                    rows = _visits(browser, _copy(db, Path(tmp)), float(prof.get("since", 0.0)))
                except (sqlite3.DatabaseError, OSError) as exc:
                    notes.append(f"{db}: {exc}")
                    continue
            for vid, when, url, title in rows:
                prof["since"] = max(float(prof["since"]), float(when))
                if not str(url).startswith(SCHEMES) or when > ctx.now + 300:
                    continue
                items.append(
                    Item(
                        self.app,
                        {
                            "kind": "url",
                            "title": (title or url)[:500],
                            "body": f"visited in {browser.capitalize()}",
                            "uri": str(url)[:2000],
                            "created": float(when),
                            "idempotency_key": idem(key, vid, when),
                        },
                    )
                )
            if len(rows) < MAX_PER_RUN:
                prof["stamp"] = stamp  # read to the end: unchanged files are skipped next time
        note = f"{len(profiles)} profiles, {len(items)} new visits" + (
            f"; {'; '.join(notes)}" if notes else ""
        )
        return Reading(tuple(items), {"profiles": state}, note)


__all__ = ["BrowserHistory", "find_profiles"]
