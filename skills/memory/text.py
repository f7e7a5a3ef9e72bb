"""Tokens as the FTS5 unicode61 tokenizer sees them, plus time phrases, shared by search and resolve."""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from functools import lru_cache
from typing import Any

from skills.memory.model import DAY

# unicode61 keeps letters and digits; everything else (underscore included) separates tokens.
_TOKEN = re.compile(r"[^\W_]+")
STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her hers him his i if in "
    "into is it its me my of on or our she so that the their them then there these they this those to up us "
    "was we were what when where which who whom why will with would you your yours about any all just".split()
)


@lru_cache(maxsize=4096)
def _fold(word: str) -> str:
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Return lower-cased, diacritic-free tokens, matching unicode61 remove_diacritics 2."""
    low = text.lower()
    if low.isascii():
        return _TOKEN.findall(low)
    return [_fold(t) for t in _TOKEN.findall(low)]


def query_terms(text: str, max_terms: int = 8) -> list[str]:
    """Return the distinct content words of a query (stopwords dropped unless nothing else is left).

    Each term is exactly one token of the index's own tokenizer, so fts_phrase(term) is a one-token
    string: no query text can become FTS5 syntax or a phrase (which a detail=none index refuses)."""
    toks = tokens(text) if text.isascii() else fts_tokens(text)
    content = [t for t in toks if t not in STOPWORDS] or toks
    seen: dict[str, None] = {}
    for t in content:
        seen.setdefault(t, None)
    return list(seen)[:max_terms]


# The index's tokenizer, as FTS5 declares it in store.py; only the query side needs it here.
FTS_TOKENIZER = "unicode61 remove_diacritics 2"
_tokenizer_lock = threading.Lock()
_tokenizer: Any = None


def fts_tokens(text: str) -> list[str]:
    """Return the tokens SQLite's own unicode61 tokenizer makes of text, in order.

    For ASCII text tokens() is the same; beyond ASCII Python and SQLite disagree (SQLite's Unicode
    tables are older; NFKD folding can make "½" into "1⁄2", two tokens), so non-ASCII queries ask
    SQLite. A token that the tokenizer would split again is dropped rather than sent as a phrase."""
    out = [t for t in _sqlite_tokens(text) if _sqlite_tokens(t) == [t]]
    return out


@lru_cache(maxsize=4096)
def _sqlite_tokens_cached(text: str) -> tuple[str, ...]:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            import sqlcipher3  # the store's bundled SQLite, so its tokenizer is the index's

            conn = sqlcipher3.connect(":memory:", check_same_thread=False, isolation_level=None)
            conn.execute(f"CREATE VIRTUAL TABLE tok USING fts5(x, tokenize='{FTS_TOKENIZER}')")
            conn.execute("CREATE VIRTUAL TABLE tok_v USING fts5vocab(tok, 'instance')")
            _tokenizer = conn
        conn = _tokenizer
        conn.execute("INSERT INTO tok (rowid, x) VALUES (1, ?)", (text,))
        try:
            return tuple(r[0] for r in conn.execute("SELECT term FROM tok_v ORDER BY offset"))
        finally:
            conn.execute("DELETE FROM tok")


def _sqlite_tokens(text: str) -> list[str]:
    return list(_sqlite_tokens_cached(text[:4000]))


def fts_phrase(term: str) -> str:
    """Return term quoted for an FTS5 MATCH, so user text can never be read as query syntax."""
    return '"' + term.replace('"', '""') + '"'


def parse_when(text: str, now: float | None = None) -> float:
    """Return unix seconds for '2d' / '3h' / '30m' (ago), 'today', 'yesterday', an ISO date or seconds."""
    from skills.memory.model import InvalidEvent

    now = time.time() if now is None else now
    s = text.strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", s)
    if m:
        mult = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY}[m.group(2)]
        return now - float(m.group(1)) * mult
    if s == "now":
        return now
    if s in ("today", "yesterday"):
        start = day_start(now)
        return start if s == "today" else start - DAY
    try:
        return float(s)
    except ValueError:
        pass
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise InvalidEvent(
            f"cannot read the time {text!r}",
            "use 2d, 3h, 30m, today, yesterday, an ISO date (2024-05-01) or unix seconds",
        ) from None


def day_start(t: float) -> float:
    """Return local midnight of the day holding t."""
    lt = time.localtime(t)
    return time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
