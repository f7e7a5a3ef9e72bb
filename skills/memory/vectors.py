"""The in-memory vector index for cosine recall, and the background worker that fills it.

Vectors are stored int8 in the database and held here int8 too, with their scales. Only the newest
`max_vectors` events are held (200k by default, about 90 MB); older events still get a cosine score
when keyword search brings them in, from their stored vectors.

Why sign bits too: a float32 scan of 100k x 384 reads 150 MB per query (35 ms here), so `top` first
ranks every row by the Hamming distance of sign bits (48 bytes a vector, 5 MB per 100k), then
re-scores the best `RESCORE` rows exactly. Sign bits keep the ordering well enough that the true
top-k sits inside that shortlist (binary quantization with rescoring). Distances are small integers
(0..dim), so the shortlist cut-off comes from a histogram instead of an argpartition of every row,
and the scan reuses its buffers: at 100k vectors the whole `top` takes a few milliseconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

from skills.memory.embed import Embedder, dequantize, quantize
from skills.memory.model import Filters

log = logging.getLogger(__name__)
RESCORE = 40  # shortlist = RESCORE x k rows (at least 2,000) re-scored exactly after the bit scan


class VectorIndex:
    """Ids, int8 vectors, sign bits and the fields filters need, in parallel arrays; thread-safe."""

    def __init__(self, dim: int, max_vectors: int = 200_000) -> None:
        self.dim = dim
        self.max_vectors = max_vectors
        self._mu = threading.Lock()
        self._n = 0
        self._words = -(-dim // 64)  # sign bits packed into uint64 words
        self._ids = np.zeros(0, np.int64)
        self._q = np.zeros((0, dim), np.int8)  # int8 rows times _scale: 4x less memory than float32
        self._scale = np.zeros(0, np.float32)
        # Word-major (words, n): each word's column is contiguous, so the scan is a few flat passes.
        self._bits = np.zeros((self._words, 0), np.uint64)
        self._app = np.zeros(0, np.int32)
        self._kind = np.zeros(0, np.int32)
        self._created = np.zeros(0, np.float64)
        self._expires = np.zeros(0, np.float64)
        self._alive = np.zeros(0, bool)
        self._codes: dict[str, int] = {}
        self._pos: dict[int, int] = {}

    _FLAT = ("_ids", "_scale", "_app", "_kind", "_created", "_expires", "_alive")

    def __len__(self) -> int:
        return int(self._alive[: self._n].sum())

    def _code(self, name: str) -> int:
        return self._codes.setdefault(name, len(self._codes))

    def add(
        self, ids: Sequence[int], vecs: np.ndarray, meta: Sequence[tuple[str, str, float, float]]
    ) -> None:
        """Append vectors with (app, kind, created, expires) per id."""
        vecs = np.asarray(vecs, np.float32).reshape(-1, self.dim)
        scales = np.maximum(np.abs(vecs).max(axis=1), 1e-12) / 127.0
        q8 = np.round(vecs / scales[:, None]).astype(np.int8)
        with self._mu:
            need = self._n + len(ids)
            if need > len(self._ids):
                self._grow(max(need, 2 * len(self._ids), 1024))
            s = slice(self._n, need)
            self._ids[s] = ids
            self._q[s] = q8
            self._scale[s] = scales
            self._bits[:, s] = self._signs(vecs).T
            self._app[s] = [self._code(m[0]) for m in meta]
            self._kind[s] = [self._code(m[1]) for m in meta]
            self._created[s] = [m[2] for m in meta]
            self._expires[s] = [m[3] for m in meta]
            self._alive[s] = True
            for j, i in enumerate(ids, start=self._n):
                self._pos[int(i)] = j
            self._n = need
            if self._n > self.max_vectors:
                self._compact(keep_last=self.max_vectors)

    def _grow(self, size: int) -> None:
        for name in self._FLAT:
            old = getattr(self, name)
            new = np.zeros(size, old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)
        q = np.zeros((size, self.dim), np.int8)
        q[: self._n] = self._q[: self._n]
        self._q = q
        bits = np.zeros((self._words, size), np.uint64)
        bits[:, : self._n] = self._bits[:, : self._n]
        self._bits = bits

    def _signs(self, vecs: np.ndarray) -> np.ndarray:
        """Return (n, words) uint64 sign bits of float rows."""
        packed = np.packbits(vecs > 0, axis=1)
        pad = self._words * 8 - packed.shape[1]
        if pad:
            packed = np.pad(packed, ((0, 0), (0, pad)))
        return np.ascontiguousarray(packed).view(np.uint64)

    def _compact(self, keep_last: int | None = None) -> None:
        live = np.nonzero(self._alive[: self._n])[0]
        if keep_last is not None:
            live = live[-keep_last:]
        for name in self._FLAT:
            arr = getattr(self, name)
            arr[: len(live)] = arr[live]
        self._q[: len(live)] = self._q[live]
        self._bits[:, : len(live)] = self._bits[:, live]
        self._n = len(live)
        self._pos = {int(i): j for j, i in enumerate(self._ids[: self._n])}

    def remove(self, ids: Sequence[int]) -> None:
        with self._mu:
            for i in ids:
                j = self._pos.pop(int(i), None)
                if j is not None:
                    self._alive[j] = False
            if self._n and (self._n - int(self._alive[: self._n].sum())) > self._n // 4:
                self._compact()

    def vector(self, event_id: int) -> np.ndarray | None:
        with self._mu:
            j = self._pos.get(int(event_id))
            return None if j is None else self._q[j].astype(np.float32) * self._scale[j]

    def top(
        self, q: np.ndarray, k: int, apps: set[str] | None, filters: Filters, now: float
    ) -> list[tuple[int, float]]:
        """Return up to k (event id, cosine) best first, among live, unexpired events passing filters."""
        with self._mu:
            n = self._n
            if n == 0 or k <= 0:
                return []
            q = np.asarray(q, np.float32).reshape(self.dim)
            ok = self._alive[:n] & (self._expires[:n] > now)
            if apps is not None:
                ok &= self._allowed(apps)[self._app[:n]]
            if filters.kinds:
                ok &= self._allowed(filters.kinds)[self._kind[:n]]
            if filters.since is not None:
                ok &= self._created[:n] >= filters.since
            if filters.until is not None:
                ok &= self._created[:n] <= filters.until
            short = max(RESCORE * k, 2000)
            if n > 2 * short:
                rows = self._shortlist(q, ok, n, short)
            else:
                rows = np.flatnonzero(ok)
            if len(rows) == 0:
                return []
            # np.take on sorted rows reads the int8 matrix front to back: a fancy-index gather in
            # random order cost twice as much.
            scores = matvec(np.take(self._q, rows, axis=0).astype(np.float32), q) * self._scale[rows]
            k = min(k, len(rows))
            best = np.argpartition(-scores, k - 1)[:k]
            best = best[np.argsort(-scores[best], kind="stable")]
            return [(int(self._ids[rows[j]]), float(scores[j])) for j in best]

    def _allowed(self, names: Any) -> np.ndarray:
        """Return a table, indexed by name code, of whether the code is one of names (a gather
        through it is several times faster than np.isin over every row)."""
        table = np.zeros(max(1, len(self._codes)), bool)
        table[[self._codes[x] for x in names if x in self._codes]] = True
        return table

    def _shortlist(self, q: np.ndarray, ok: np.ndarray, n: int, short: int) -> np.ndarray:
        """Return sorted row numbers of about `short` passing rows with the fewest differing sign bits."""
        qbits = self._signs(q[None, :])[0]
        dist = np.zeros(n, np.uint16)
        tmp = np.empty(n, np.uint64)
        cnt = np.empty(n, np.uint8)
        for w in range(self._words):
            np.bitwise_xor(self._bits[w, :n], qbits[w], out=tmp)
            np.bitwise_count(tmp, out=cnt)
            dist += cnt
        dist[~ok] = self.dim + 1  # filtered rows fall past every cut-off
        # The smallest distance d whose cumulative count reaches `short`; ties at d all come in.
        hist = np.bincount(dist, minlength=self.dim + 2)[: self.dim + 1]
        cut = int(np.searchsorted(np.cumsum(hist), short))
        return np.flatnonzero(dist <= min(cut, self.dim))

    def cosines(self, q: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Return the cosine of q with each held vector among ids (ids not held are left out)."""
        q = np.asarray(q, np.float32).reshape(self.dim)
        with self._mu:
            pos = self._pos
            found = [(i, pos[i]) for i in ids if i in pos]
            if not found:
                return {}
            rows = np.fromiter((j for _, j in found), np.int64, len(found))
            scores = matvec(np.take(self._q, rows, axis=0).astype(np.float32), q) * self._scale[rows]
        return {i: float(c) for (i, _), c in zip(found, scores.tolist())}


def matvec(mat: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Return mat @ q without BLAS.

    OpenBLAS runs a matrix-vector product on its thread pool; on two busy cores, waking those
    threads took 12 ms where the product itself takes 0.1 ms. einsum's own single-threaded loop
    takes about 0.6 ms for 4,000 x 384 every time.
    """
    return np.einsum("ij,j->i", mat, q)


def embed_text(title: str, body: str, uri: str, entities_json: str) -> str:
    ents = json.loads(entities_json)
    names = " ".join(v for vals in ents.values() for v in vals)
    return " ".join(p for p in (title, body, names, uri) if p)[:2000]


class EmbedWorker(threading.Thread):
    """Embeds new events in the background, in id order, resuming from a stored watermark."""

    def __init__(
        self,
        store: Any,
        embedder: Embedder,
        index: VectorIndex,
        batch: int = 64,
        on_idle: Callable[[], object] | None = None,
        idle_every: float = 300.0,
    ) -> None:
        super().__init__(name="memory-embed", daemon=True)
        self.store, self.embedder, self.index = store, embedder, index
        self.batch = batch
        self.on_idle = on_idle
        self.idle_every = idle_every
        self._wake = threading.Event()
        self._halt = threading.Event()
        self.idle = threading.Event()
        self.error: BaseException | None = None
        self._last_idle = time.time()  # the skill purged when it opened; the next purge is due later

    def notify(self) -> None:
        self.idle.clear()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._halt.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)

    def pending(self) -> int:
        mark = int(self.store.meta("embed_watermark", "0"))
        return int(self.store.query("SELECT count(*) FROM events WHERE id > ?", (mark,))[0][0])

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                did = self.step()
            except Exception as exc:  # keep the thread alive; keyword search works without vectors
                self.error = exc
                log.exception("memory embedding failed; retrying in 5 s")
                self._halt.wait(5.0)
                continue
            if not did:
                if self.on_idle is not None and time.time() - self._last_idle > self.idle_every:
                    self._last_idle = time.time()
                    self.on_idle()
                self.idle.set()
                self._wake.wait(1.0)
                self._wake.clear()

    def step(self) -> bool:
        """Embed one batch of pending events; return whether there was any."""
        mark = int(self.store.meta("embed_watermark", "0"))
        rows = self.store.query(
            "SELECT id, title, body, uri, entities, app, kind, created, expires FROM events "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (mark, self.batch),
        )
        if not rows:
            return False
        vecs = self.embedder.embed([embed_text(r[1], r[2], r[3], r[4]) for r in rows])
        q = quantize(vecs)
        # Under the store lock, so a forget cannot slip between the write and the index update.
        with self.store.lock:
            with self.store.tx():
                self.store.put_embeddings([(r[0], s, b) for r, (s, b) in zip(rows, q)])
                self.store.set_meta("embed_watermark", str(rows[-1][0]))
            # Re-read what survived: an event forgotten while we embedded must not enter the index.
            alive = {
                r[0]
                for r in self.store.query(
                    f"SELECT event_id FROM embeddings WHERE event_id IN ({','.join('?' * len(rows))})",
                    [r[0] for r in rows],
                )
            }
            keep = [j for j, r in enumerate(rows) if r[0] in alive]
            if keep:
                deq = dequantize([q[j][0] for j in keep], [q[j][1] for j in keep], self.index.dim)
                self.index.add(
                    [rows[j][0] for j in keep],
                    deq,
                    [(rows[j][5], rows[j][6], rows[j][7], rows[j][8]) for j in keep],
                )
        return True


def load_index(store: Any, index: VectorIndex) -> None:
    """Fill index with the newest stored vectors (up to its max_vectors)."""
    rows = store.query(
        "SELECT e.id, e.app, e.kind, e.created, e.expires, v.scale, v.vec FROM embeddings v JOIN events e "
        "ON e.id = v.event_id ORDER BY v.event_id DESC LIMIT ?",
        (index.max_vectors,),
    )
    rows.reverse()
    for s in range(0, len(rows), 10_000):
        part = rows[s : s + 10_000]
        vecs = dequantize([r[5] for r in part], [r[6] for r in part], index.dim)
        index.add([r[0] for r in part], vecs, [(r[1], r[2], r[3], r[4]) for r in part])
