"""The on-device phrase model: what this user tends to write after a word or two, in SQLite.

It learns from accepted suggestions and from text the user opts in, suggests frequent phrases
instantly, and re-ranks model output. It never learns from fields apps flag as sensitive, nor
text holding a card number (Luhn-valid digit run). Nothing here touches the network.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from skills.autocomplete.text import has_card_number, last_words, partial_word, words
from skills.autocomplete.types import LearnReport, Phrase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS phrases (
    context TEXT NOT NULL,
    text TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    last_used REAL NOT NULL,
    PRIMARY KEY (context, text)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
MAX_PHRASE_WORDS = 5
CONTEXT_WORDS = 2


class PhraseModel:
    """Learned phrases in one SQLite file (":memory:" for a throwaway model). Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute(
            "PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY"
        )
        self._db.executescript(_SCHEMA)
        self._mu = threading.Lock()

    # -- settings ---------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        with self._mu:
            row = self._db.execute("SELECT value FROM settings WHERE key='paused'").fetchone()
        return bool(row and row[0] == "1")

    def set_paused(self, paused: bool) -> None:
        """Pause or resume learning; suggestions from what was learned still work while paused."""
        with self._mu:
            self._db.execute(
                "INSERT OR REPLACE INTO settings VALUES ('paused', ?)", ("1" if paused else "0",)
            )

    # -- learning -----------------------------------------------------------------------------------
    def learn(self, prefix: str, text: str, sensitive: bool = False) -> LearnReport:
        """Record that the user wrote text after prefix (an accepted suggestion)."""
        refusal = self._refusal(prefix + text, sensitive)
        if refusal:
            return LearnReport(0, refusal)
        phrase = " ".join(words(partial_word(prefix) + text)[:MAX_PHRASE_WORDS])
        if not phrase:
            return LearnReport(0, "nothing to learn")
        ctx = last_words(prefix, CONTEXT_WORDS)
        rows = [(" ".join(ctx[i:]), phrase) for i in range(len(ctx) + 1)]
        self._add(rows)
        return LearnReport(len(rows))

    def learn_text(self, text: str, sensitive: bool = False) -> LearnReport:
        """Learn phrases from text the user opted in (a document, a sent message).

        Sentences holding a card number are skipped; the rest are learned.
        """
        if sensitive:
            return LearnReport(0, "the field is flagged sensitive")
        if self.paused:
            return LearnReport(0, "learning is paused")
        rows: list[tuple[str, str]] = []
        for line in text.replace("!", ".").replace("?", ".").split("."):
            if has_card_number(line):
                continue
            ws = words(line)
            for i in range(1, len(ws)):
                ctx = " ".join(w.lower() for w in ws[max(0, i - CONTEXT_WORDS) : i])
                for k in (1, 2, 3):
                    if i + k <= len(ws):
                        rows.append((ctx, " ".join(ws[i : i + k])))
        if not rows:
            return LearnReport(0, "no phrases in the text" if text.strip() else "empty text")
        self._add(rows)
        return LearnReport(len(rows))

    def forget(self, prefix: str, text: str) -> None:
        """Lower the count of a rejected phrase after prefix (removing it at zero)."""
        phrase = " ".join(words(partial_word(prefix) + text)[:MAX_PHRASE_WORDS])
        ctx = " ".join(last_words(prefix, CONTEXT_WORDS))
        with self._mu:
            self._db.execute("UPDATE phrases SET count = count - 1 WHERE context=? AND text=?", (ctx, phrase))
            self._db.execute("DELETE FROM phrases WHERE count <= 0")

    def _refusal(self, text: str, sensitive: bool) -> str | None:
        if sensitive:
            return "the field is flagged sensitive"
        if has_card_number(text):
            return "the text holds a card number"
        if self.paused:
            return "learning is paused"
        return None

    def _add(self, rows: list[tuple[str, str]]) -> None:
        now = time.time()
        with self._mu:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO phrases (context, text, count, last_used) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (context, text) DO UPDATE SET count = count + 1, last_used = excluded.last_used",
                [(c, t, now) for c, t in rows],
            )
            self._db.execute("COMMIT")

    # -- suggesting ----------------------------------------------------------------------------------
    def suggest(self, prefix: str, min_count: int = 2, limit: int = 3) -> list[tuple[str, int]]:
        """Return (text to insert, count) for learned phrases that fit after prefix, best first.

        The longest matching context wins (two words, then one, then none); the phrase must start
        with the word being typed, and only what is still missing is returned.
        """
        part = partial_word(prefix)
        if not part and prefix and not prefix[-1].isspace():
            return []  # right after punctuation: let the model decide
        ctx = last_words(prefix, CONTEXT_WORDS)
        out: list[tuple[str, int]] = []
        seen: set[str] = set()
        with self._mu:
            for i in range(len(ctx) + 1):
                if i == len(ctx) and ctx:
                    # no context at all would offer any phrase anywhere; only with a typed word
                    if len(part) < 2:
                        break
                rows = self._db.execute(
                    "SELECT text, count FROM phrases WHERE context=? AND count>=? AND text LIKE ? ESCAPE '\\' "
                    # longer phrases save more typing: weigh the count by the words in the phrase
                    "ORDER BY count * (1 + length(text) - length(replace(text, ' ', ''))) DESC, last_used DESC "
                    "LIMIT ?",
                    (" ".join(ctx[i:]), min_count, _like_prefix(part), limit * 3),
                ).fetchall()
                for text, count in rows:
                    if not text.startswith(part) or len(text) <= len(part):
                        continue
                    rest = text[len(part) :]
                    if rest not in seen:
                        seen.add(rest)
                        out.append((rest, int(count)))
                if len(out) >= limit:
                    break
        return out[:limit]

    # -- viewing and clearing ---------------------------------------------------------------------------
    def view(self, limit: int = 100) -> list[Phrase]:
        """Return learned phrases, most frequent first."""
        with self._mu:
            rows = self._db.execute(
                "SELECT context, text, count, last_used FROM phrases ORDER BY count DESC, last_used DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Phrase(c, t, int(n), float(u)) for c, t, n, u in rows]

    def count(self) -> int:
        """Return how many (context, phrase) pairs are stored."""
        with self._mu:
            return int(self._db.execute("SELECT COUNT(*) FROM phrases").fetchone()[0])

    def clear(self) -> int:
        """Delete everything learned; return how many entries were removed."""
        with self._mu:
            n = int(self._db.execute("SELECT COUNT(*) FROM phrases").fetchone()[0])
            self._db.execute("DELETE FROM phrases")
            if self.path != ":memory:":
                # deleted rows would otherwise linger in free pages of the file
                self._db.execute("VACUUM")
        return n

    def close(self) -> None:
        with self._mu:
            self._db.close()


def _like_prefix(part: str) -> str:
    return part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
