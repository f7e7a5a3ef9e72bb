"""Hybrid recall: BM25 plus cosine similarity plus recency, with filters on app, kind and time.

Design (why it stays fast at a million events): FTS5's own `ORDER BY rank` scores every row that
matches, so one common term costs hundreds of milliseconds. Here each candidate set is read from
FTS5 in rowid order, newest first (ids only grow, so rowid order is ingest order), and stops after
a fixed number of rows: the newest `candidates` matches of all the terms together, and, for each
term alone, its newest `candidates / number of terms` matches (at least `limit`), so a rare term
brings in its newest matches however old they are. The candidate query joins each FTS row to its
event row (FTS drives the loop, so filters cost one primary-key lookup per row read) and returns
the whole row, so no second fetch is needed. Only that union (at most a few hundred rows) is
scored, with BM25 computed here from the stored text. Document frequencies come from a capped,
newest-first count extrapolated over the id range, cached per term. Cosine candidates come from
the in-memory vector index; the final score mixes normalised BM25, cosine and an exponential
recency decay.

The ranking trade-off: BM25 + recency is exact within the candidate window, not over every
match. A match older than a term's newest N matches (N as above) is never considered, even if its
BM25 is higher: for a term in most events the window is the newest `candidates` events; for a
rare term it reaches back as far as its matches go.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from skills.memory.model import Filters, SearchHit, SearchOptions
from skills.memory.store import EVENT_COLS, MemoryStore, to_event
from skills.memory.text import fts_phrase, query_terms, tokens
from skills.memory.vectors import VectorIndex, matvec

K1, B = 1.2, 0.75
DF_SAMPLE = (
    256  # newest matches read to estimate a term's document frequency (about 6% error, idf error ~0.06)
)
COMMON = 0.1  # terms in more than this share of events stay out of the AND candidate query
AND_BUDGET = 20_000  # doclist entries the AND candidate query may step through (~2 ms)
E_COLS = ", ".join(f"e.{c}" for c in EVENT_COLS.split(", "))


@dataclass(frozen=True)
class TermStats:
    """The id range (lo..hi, n ids) and each query term's estimated document frequency."""

    lo: int
    hi: int
    n: int
    df: dict[str, float]


class Searcher:
    """Runs searches against one store and (for hybrid) one vector index."""

    def __init__(
        self,
        store: MemoryStore,
        index: VectorIndex | None = None,
        embed_query: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        self.store = store
        self.index = index
        self.embed_query = embed_query
        self._df: dict[str, tuple[float, int]] = {}
        self._avgdl: tuple[float, int] = (0.0, -1)
        self._mu = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        with self._mu:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-query-embed")
            return self._executor

    def close(self) -> None:
        """Stop the query-embedding thread (if one was started)."""
        with self._mu:
            ex, self._executor = self._executor, None
        if ex is not None:
            ex.shutdown(wait=True)

    # -- statistics ---------------------------------------------------------------------------
    def _id_range(self) -> tuple[int, int]:
        # Two subqueries: SQLite answers a lone min() or max() of the rowid from the b-tree edge.
        row = self.store.query("SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)")[0]
        return (row[0] or 0, row[1] or 0)

    def _doc_freq(self, term: str, lo: int, hi: int) -> float:
        with self._mu:
            hit = self._df.get(term)
        # Re-estimate once the collection grew by a tenth; frequencies drift slowly.
        if hit is not None and hi - hit[1] <= max(100, (hi - lo) // 10):
            return hit[0]
        cnt, oldest = self.store.query(
            "SELECT count(*), min(rowid) FROM (SELECT rowid FROM events_fts WHERE events_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT ?)",
            (fts_phrase(term), DF_SAMPLE),
        )[0]
        df = float(cnt)
        if cnt >= DF_SAMPLE and oldest is not None:
            df = cnt * (hi - lo + 1) / max(1, hi - oldest + 1)
        with self._mu:
            if len(self._df) > 50_000:
                self._df.clear()
            self._df[term] = (df, hi)
        return df

    def _avg_len(self, hi: int) -> float:
        avg, at = self._avgdl
        if at >= 0 and hi - at <= max(1000, hi // 10):
            return avg
        rows = self.store.query("SELECT title, body, uri, entities FROM events ORDER BY id DESC LIMIT 500")
        lens = [term_counts(" ".join((r[0], r[1], r[2], r[3])).lower(), [])[1] for r in rows]
        avg = max(1.0, sum(lens) / len(lens)) if lens else 1.0
        self._avgdl = (avg, hi)
        return avg

    # -- candidates ---------------------------------------------------------------------------
    def keyword_rows(
        self,
        terms: list[str],
        stats: TermStats,
        apps: set[str] | None,
        f: Filters,
        now: float,
        k: int,
        limit: int,
    ) -> dict[int, tuple[Any, ...]]:
        """Return {id: event row} for the union of newest-first candidate sets: all terms together
        (k rows), and each term alone (k / len(terms) rows, at least limit)."""
        where, params = where_clause(apps, f, now)
        # CROSS JOIN keeps FTS5 as the outer loop, in rowid order, so LIMIT stops the scan early.
        sql = (
            f"SELECT {E_COLS} FROM events_fts CROSS JOIN events e ON e.id = events_fts.rowid "
            f"WHERE events_fts MATCH ? AND events_fts.rowid >= ? AND {where} ORDER BY events_fts.rowid DESC LIMIT ?"
        )
        queries = [(fts_phrase(terms[0]), stats.lo, k)]
        if len(terms) > 1:
            per_term = max(limit, k // len(terms))
            queries = [(fts_phrase(t), stats.lo, per_term) for t in terms]
            # FTS5 cannot skip ahead in a doclist read newest-first, so an AND steps through every
            # entry of every term until it finds k rows. Terms in more than COMMON of the events
            # (near-zero idf) are left out of it (their own set still counts), and the AND reads
            # only the newest ids in which its terms hold about AND_BUDGET entries in all.
            rare = [t for t in terms if stats.df[t] <= COMMON * stats.n] or terms
            per_id = sum(stats.df[t] for t in rare) / stats.n
            window = int(AND_BUDGET / per_id) if per_id > 0 else stats.n
            start = max(stats.lo, stats.hi - window + 1)
            queries.insert(0, (" AND ".join(fts_phrase(t) for t in rare), start, k))
        rows: dict[int, tuple[Any, ...]] = {}
        for q, start, n in queries:
            for r in self.store.query(sql, (q, start, *params, n)):
                rows[r[0]] = r
        return rows

    def term_stats(self, terms: list[str]) -> TermStats:
        """Return the id range and the estimated document frequency of each term."""
        lo, hi = self._id_range()
        n = max(1, hi - lo + 1)
        return TermStats(lo, hi, n, {t: min(self._doc_freq(t, lo, hi), n) for t in terms})

    # -- search -------------------------------------------------------------------------------
    def search(self, query: str, apps: set[str] | None, opts: SearchOptions, now: float) -> list[SearchHit]:
        """Return up to opts.limit hits, best first. apps=None means every app is visible."""
        if apps is not None and not apps:
            return []
        terms = query_terms(query)
        hybrid = opts.mode == "hybrid" and self.embed_query is not None and self.index is not None
        pending = None
        if hybrid and query.strip():
            # Embed the query on another thread while SQLite finds keyword candidates: onnxruntime
            # and SQLite both release the GIL, so on two cores the two costs overlap.
            pending = self._pool().submit(self.embed_query, query)  # type: ignore[arg-type]
        stats = self.term_stats(terms)
        rows = (
            self.keyword_rows(terms, stats, apps, opts.filters, now, opts.candidates, opts.limit)
            if terms
            else {}
        )
        cos: dict[int, float] = {}
        qvec = None
        if pending is not None:
            qvec = pending.result()
            assert self.index is not None
            found = self.index.top(qvec, opts.candidates, apps, opts.filters, now)
            cos.update(found)
            more = [eid for eid, c in found if c >= opts.min_cosine and eid not in rows]
            for r in self._rows(sorted(more)):
                rows[r[0]] = r
            self._fill_cosine(qvec, [i for i in rows if i not in cos], cos)
        if not rows:
            return []
        # Title, body, uri and the raw entities JSON, lower-cased once; the JSON adds exactly the
        # three key words "people", "files", "places", which _bm25 discounts.
        texts = {eid: " ".join((r[3], r[4], r[5], r[6])).lower() for eid, r in rows.items()}
        bm = self._bm25(terms, stats, texts) if terms else {}
        top_bm = max(bm.values(), default=0.0) or 1.0
        wb, wc, wr = opts.weights
        if not hybrid:
            wc = 0.0
        total = (wb + wc + wr) or 1.0
        half = max(opts.half_life_days, 1e-3) * 86400.0
        scored = []
        for eid, r in rows.items():
            b = bm.get(eid, 0.0) / top_bm
            c = max(0.0, cos.get(eid, 0.0))
            rec = 0.5 ** (max(0.0, now - r[8]) / half)
            scored.append(((wb * b + wc * c + wr * rec) / total, eid, r, rec))
        scored.sort(key=lambda x: (-x[0], -x[1]))
        return [
            SearchHit(to_event(r), score, bm.get(eid, 0.0), cos.get(eid, 0.0), rec)
            for score, eid, r, rec in scored[: opts.limit]
        ]

    def _rows(self, ids: list[int]) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for s in range(0, len(ids), 900):
            part = ids[s : s + 900]
            out += self.store.query(
                f"SELECT {EVENT_COLS} FROM events WHERE id IN ({','.join('?' * len(part))})", part
            )
        return out

    def _fill_cosine(self, qvec: np.ndarray, ids: list[int], cos: dict[int, float]) -> None:
        from skills.memory.embed import dequantize

        if self.index is not None:
            cos.update(self.index.cosines(qvec, ids))
        missing = [i for i in ids if i not in cos]  # older than the index holds: read the stored vector
        if missing:
            marks = ",".join("?" * len(missing))
            rows = self.store.query(
                f"SELECT event_id, scale, vec FROM embeddings WHERE event_id IN ({marks})", missing
            )
            if rows:
                mat = dequantize([r[1] for r in rows], [r[2] for r in rows], len(qvec))
                for r, c in zip(rows, matvec(mat, qvec)):
                    cos[r[0]] = float(c)

    def _bm25(self, terms: list[str], stats: TermStats, texts: dict[int, str]) -> dict[int, float]:
        n = stats.n
        idf = {t: math.log((n - df + 0.5) / (df + 0.5) + 1.0) for t, df in stats.df.items()}
        avgdl = self._avg_len(stats.hi)
        out = {}
        for eid, low in texts.items():
            tfs, length = term_counts(low, terms)
            norm = K1 * (1 - B + B * length / avgdl)
            s = 0.0
            for t, tf in zip(terms, tfs):
                if tf:
                    s += idf[t] * tf * (K1 + 1) / (tf + norm)
            out[eid] = s
        return out


def term_counts(low: str, terms: list[str]) -> tuple[list[int], int]:
    """Return how often each term occurs as a whole token in lower-cased text, and the text's length
    in tokens (estimated from spaces for ASCII text).

    Tokenizing every candidate with a regex was most of a query's Python time; str.count and
    str.find run in C, and only the hits are checked for token boundaries here.
    """
    if not low.isascii():
        toks = tokens(low)
        return [toks.count(t) - (t in _JSON_KEYS) for t in terms], max(1, len(toks) - 3)
    out = []
    for t in terms:
        tf = 0
        if t in low:
            n, at = len(t), low.find(t)
            while at >= 0:
                end = at + n
                if (at == 0 or not low[at - 1].isalnum()) and (end == len(low) or not low[end].isalnum()):
                    tf += 1
                at = low.find(t, end)
            if tf and t in _JSON_KEYS:
                tf -= 1  # the entities JSON names each list once
        out.append(tf)
    return out, max(1, low.count(" "))  # space-separated chunks, less one for the entities JSON


_JSON_KEYS = frozenset(("people", "files", "places"))


def where_clause(apps: set[str] | None, f: Filters, now: float) -> tuple[str, list[Any]]:
    """Return the SQL condition on `events e` for visibility, expiry and filters, and its parameters."""
    parts: list[str] = ["e.expires > ?"]
    params: list[Any] = [now]
    if apps is not None:
        parts.append(f"e.app IN ({','.join('?' * len(apps))})")
        params += sorted(apps)
    if f.kinds:
        parts.append(f"e.kind IN ({','.join('?' * len(f.kinds))})")
        params += list(f.kinds)
    if f.since is not None:
        parts.append("e.created >= ?")
        params.append(f.since)
    if f.until is not None:
        parts.append("e.created <= ?")
        params.append(f.until)
    return " AND ".join(parts), params


def browse_sql(
    apps: set[str] | None, f: Filters, now: float, before: tuple[float, int] | None, limit: int
) -> tuple[str, list[Any]]:
    """Return the listing query for browse: newest created first, paged by (created, id) of the last row."""
    where, params = where_clause(apps, f, now)
    if before is not None:
        where += " AND (e.created < ? OR (e.created = ? AND e.id < ?))"
        params += [before[0], before[0], before[1]]
    return (
        f"SELECT {EVENT_COLS} FROM events e WHERE {where} ORDER BY e.created DESC, e.id DESC LIMIT ?",
        [*params, limit],
    )


__all__ = ["Searcher", "browse_sql", "where_clause", "to_event"]
