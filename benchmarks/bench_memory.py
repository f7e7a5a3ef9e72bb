"""Memory benchmark: ingest rate, search latency (keyword and hybrid) and bytes per event, on
synthetic multi-app data, next to raw SQLCipher inserts and a plain sqlite-utils FTS5 ranked search.

    .venv/bin/python -m benchmarks.bench_memory                      # 10k and 100k
    .venv/bin/python -m benchmarks.bench_memory --sizes 10000,100000,1000000
    .venv/bin/python -m benchmarks.bench_memory --ingest-only --reps 5   # ingest alone -> memory_ingest.json

Search datasets are built once with raw executemany into the memory schema (plus a sqlite-utils
FTS table for the baseline) and cached under /tmp/bench_memory (1M events: about 6 minutes on
the 2-core machine; a new schema version builds new files). Stored vectors for hybrid search
are random unit vectors (their values do not change the cost); queries are embedded with
the real MiniLM model, so hybrid latency includes embedding the query.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.common import median, pct, write

CACHE = Path("/tmp/bench_memory")
APPS = [
    ("mail", "message"),
    ("firefox", "url"),
    ("files", "file_opened"),
    ("chat", "message"),
    ("calendar", "calendar"),
    ("notes", "note"),
    ("contacts", "contact"),
]
COMMON = ["meeting", "project", "update", "team", "report", "review", "today", "please", "thanks", "time"]
PEOPLE = ["Ana Lima", "Bruno Costa", "Carla Mendes", "Dev Patel", "Eve Martin", "Femi Ade"]


def vocabulary(n: int = 20000, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < n:
        words.add("".join(rnd.choice(letters) for _ in range(rnd.randint(4, 9))))
    return COMMON + sorted(words)


def make_rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Return n events of about 25 words, Zipf-distributed, with some very common terms."""
    rnd = random.Random(seed)
    vocab = vocabulary()
    # Cumulative weights, computed once: given plain weights, choices() re-accumulates all 20k of
    # them on every call, which made building the 1M dataset take ~40 minutes. Same draws either way.
    cum = list(itertools.accumulate(1.0 / (r + 1) ** 1.05 for r in range(len(vocab))))
    now = time.time()
    rows = []
    for i in range(n):
        app, kind = APPS[i % len(APPS)]
        words = rnd.choices(vocab, cum_weights=cum, k=25)
        rows.append(
            {
                "app": app,
                "kind": kind,
                "title": " ".join(words[:5]),
                "body": " ".join(words[5:]),
                "uri": f"https://example.com/{words[0]}/{i}" if kind == "url" else "",
                "entities": {"people": [PEOPLE[i % len(PEOPLE)]], "files": [], "places": []},
                "created": now - (n - i) * 2.0,
            }
        )
    return rows


def queries(count: int, seed: int = 3) -> list[str]:
    rnd = random.Random(seed)
    vocab = vocabulary()
    out = []
    for i in range(count):
        shape = i % 4
        if shape == 0:
            out.append(rnd.choice(COMMON))  # one very common term: the bm25-everything worst case
        elif shape == 1:
            out.append(rnd.choice(vocab[2000:]))  # one rare term
        elif shape == 2:
            out.append(f"{rnd.choice(COMMON)} {rnd.choice(vocab[100:3000])}")
        else:
            out.append(" ".join(rnd.choice(vocab[:500]) for _ in range(3)))
    return out


def _skill(path: Path, embedder: Any = None, background: bool = False) -> Any:
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions

    return MemorySkill(
        MemoryOptions(StoreOptions(path, key_source="file"), background=background), embedder=embedder
    )


INSERT_EVENTS = (
    "INSERT INTO events (id, app, kind, title, body, uri, entities, sensitivity, created, expires) "
    "VALUES (?,?,?,?,?,?,?,?,?,?)"
)
INSERT_FTS = "INSERT INTO events_fts (rowid, title, body, uri, entities) VALUES (?,?,?,?,?)"


def _timed_raw(path: Path, ev: list[tuple[Any, ...]], fts: list[tuple[Any, ...]], batch: int) -> float:
    """Return events/s of raw executemany into the memory schema, `batch` rows per transaction."""
    mem = _skill(path)  # same schema, same SQLCipher key setup and pragmas (WAL, synchronous FULL)
    conn = mem.store.conn
    t0 = time.perf_counter()
    for s in range(0, len(ev), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT_EVENTS, ev[s : s + batch])
        conn.executemany(INSERT_FTS, fts[s : s + batch])
        conn.execute("COMMIT")
    rate = len(ev) / (time.perf_counter() - t0)
    mem.close()
    return rate


def bench_ingest(
    n: int, work: Path, minilm: Any, embed_events: int, batch: int = 500, reps: int = 3
) -> dict[str, Any]:
    """Ingest through the API next to raw executemany of the same rows, interleaved, medians of reps.

    Like-for-like is the same schema in the same transaction size as the API's batches (each
    batch is a durable commit); one transaction for all rows, and a bare table, are shown too.
    The raw parameter lists are built before timing, so raw measures SQLite alone.
    """
    import json

    from skills.memory import Caller

    rows = make_rows(n, seed=11)
    ev = [
        (
            i + 1,
            r["app"],
            r["kind"],
            r["title"],
            r["body"],
            r["uri"],
            json.dumps(r["entities"]),
            "normal",
            r["created"],
            r["created"] + 30 * 86400,
        )
        for i, r in enumerate(rows)
    ]
    fts = [
        (i + 1, r["title"], r["body"], r["uri"], " ".join(r["entities"]["people"]))
        for i, r in enumerate(rows)
    ]
    user = Caller.user()
    runs: dict[str, list[float]] = {}
    bytes_per_event = 0.0

    def api(path: Path) -> float:
        nonlocal bytes_per_event
        mem = _skill(path)
        t0 = time.perf_counter()
        for s in range(0, n, batch):
            mem.push_batch(user, rows[s : s + batch])
        rate = n / (time.perf_counter() - t0)
        mem.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        bytes_per_event = mem.store.file_bytes() / n
        mem.close()
        return rate

    def bare(path: Path) -> float:
        mem = _skill(path)
        conn = mem.store.conn
        conn.execute(
            "CREATE TABLE bare (id INTEGER PRIMARY KEY, app, kind, title, body, uri, entities, sensitivity, "
            "created, expires)"
        )
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO bare VALUES (?,?,?,?,?,?,?,?,?,?)", ev)
        conn.execute("COMMIT")
        rate = n / (time.perf_counter() - t0)
        mem.close()
        return rate

    variants = {
        "api": api,
        "raw_same_schema_same_batches": lambda p: _timed_raw(p, ev, fts, batch),
        "raw_same_schema_one_transaction": lambda p: _timed_raw(p, ev, fts, n),
        "raw_bare_table_one_transaction": bare,
    }
    names = list(variants)
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:  # rotate the order each round
            path = work / f"ingest-{name}-{rep}.db"
            runs.setdefault(name, []).append(variants[name](path))
            for p in work.glob(f"ingest-{name}-{rep}.db*"):
                p.unlink()
    rate = {k: median(v) for k, v in runs.items()}
    out: dict[str, Any] = {
        "events": n,
        "batch": batch,
        "reps": reps,
        "idempotency_keys": False,
        "events_per_s_median": rate,
        "events_per_s_runs": runs,
        "api_over_raw_same_schema_same_batches": rate["api"] / rate["raw_same_schema_same_batches"],
        "api_over_raw_same_schema_one_transaction": rate["api"] / rate["raw_same_schema_one_transaction"],
        "api_over_raw_bare_table_one_transaction": rate["api"] / rate["raw_bare_table_one_transaction"],
        "bytes_per_event_without_vectors": bytes_per_event,
        "bytes_per_event_vectors": 388 + 16,
    }
    app = user
    # with embeddings: until the background worker has embedded everything (real MiniLM)
    if minilm is not None:
        m = embed_events
        mem = _skill(work / "embed.db", embedder=minilm, background=True)
        more = make_rows(m, seed=12)
        t0 = time.perf_counter()
        for s in range(0, m, 250):
            mem.push_batch(app, more[s : s + 250])
        pushed = time.perf_counter() - t0
        mem.wait_embedded(600)
        out["with_embeddings"] = {
            "events": m,
            "push_returned_events_per_s": m / pushed,
            "embedded_events_per_s": m / (time.perf_counter() - t0),
        }
        mem.close()
    return out


def build_dataset(n: int) -> Path:
    """Return a cached database of n events in the memory schema, with vectors and a baseline FTS table."""
    import json

    import numpy as np
    import sqlite_utils

    from skills.memory.embed import FakeEmbedder, quantize

    from skills.memory.store import MIGRATIONS

    name = f"mem-s{len(MIGRATIONS)}-{n}"  # a new schema version builds a new dataset
    path = CACHE / f"{name}.db"
    if (CACHE / f"{name}.done").exists():
        return path
    for p in CACHE.glob(f"{name}.db*"):
        p.unlink()
    CACHE.mkdir(parents=True, exist_ok=True)
    mem = _skill(path)
    conn = mem.store.conn
    fake = FakeEmbedder()
    rng = np.random.default_rng(5)
    t0 = time.perf_counter()
    for s in range(0, n, 50_000):
        part = make_rows(min(50_000, n - s), seed=100 + s)
        ids = range(s + 1, s + 1 + len(part))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO events (id, app, kind, title, body, uri, entities, sensitivity, created, "
            "expires) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    i,
                    r["app"],
                    r["kind"],
                    r["title"],
                    r["body"],
                    r["uri"],
                    json.dumps(r["entities"]),
                    "normal",
                    r["created"] - (n - s) * 2.0,
                    time.time() + 30 * 86400,
                )
                for i, r in zip(ids, part)
            ],
        )
        conn.executemany(
            "INSERT INTO events_fts (rowid, title, body, uri, entities) VALUES (?,?,?,?,?)",
            [
                (i, r["title"], r["body"], r["uri"], " ".join(r["entities"]["people"]))
                for i, r in zip(ids, part)
            ],
        )
        # Random unit vectors: their values do not change the search cost, and hashing 1M texts
        # through FakeEmbedder would take most of the build time.
        raw_vecs = rng.standard_normal((len(part), fake.dim)).astype(np.float32)
        vecs = quantize(raw_vecs / np.linalg.norm(raw_vecs, axis=1, keepdims=True))
        conn.executemany(
            "INSERT INTO embeddings (event_id, scale, vec) VALUES (?,?,?)",
            [(i, sc, b) for i, (sc, b) in zip(ids, vecs)],
        )
        conn.execute("COMMIT")
        db = sqlite_utils.Database(conn)
        db["baseline"].insert_all(
            ({"id": i, "title": r["title"], "body": r["body"]} for i, r in zip(ids, part)),
            pk="id",
            batch_size=5000,
        )
        print(f"  built {s + len(part)} / {n} ({time.perf_counter() - t0:.0f} s)", flush=True)
    mem.store.set_meta("embed_watermark", str(n))
    db = sqlite_utils.Database(conn)
    db["baseline"].enable_fts(["title", "body"], fts_version="FTS5")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    mem.close()
    (CACHE / f"{name}.done").write_text("ok")
    return path


def bench_search(n: int, minilm: Any, count: int) -> dict[str, Any]:
    import sqlite_utils

    from skills.memory import Caller, SearchOptions

    path = build_dataset(n)
    # Read the file once so the OS page cache holds it, as it does for a daemon that has been
    # running; SQLite's own cache still starts empty. Without this, a 1M-event file that fell
    # out of the OS cache made each scattered row a disk read (~35 ms per 100 rows here).
    with open(path, "rb") as fh:
        while fh.read(1 << 23):
            pass
    qs = queries(count)
    mem = _skill(path, embedder=minilm)
    user = Caller.user()
    out: dict[str, Any] = {"events": n, "queries": len(qs)}
    mem.search(user, "warm up", SearchOptions(mode="hybrid"))  # loads the vector index once
    shapes = ("one_common_term", "one_rare_term", "common_plus_mid_term", "three_top500_terms")
    for mode in ("keyword", "hybrid"):
        times = []
        for q in qs:
            t0 = time.perf_counter()
            mem.search(user, q, SearchOptions(mode=mode))
            times.append((time.perf_counter() - t0) * 1000)
        by_shape = {
            name: pct(times[i::4], 95) for i, name in enumerate(shapes)
        }  # queries() cycles the shapes
        out[mode] = {"p50_ms": median(times), "p95_ms": pct(times, 95), "p95_ms_by_query_shape": by_shape}
    times = []
    for q in qs:  # hybrid again, every query embedded afresh (the skill caches query embeddings)
        mem._qcache.clear()
        t0 = time.perf_counter()
        mem.search(user, q, SearchOptions(mode="hybrid"))
        times.append((time.perf_counter() - t0) * 1000)
    out["hybrid_uncached_query_embedding"] = {"p50_ms": median(times), "p95_ms": pct(times, 95)}
    db = sqlite_utils.Database(mem.store.conn)
    times = []
    for q in qs:
        t0 = time.perf_counter()
        list(db["baseline"].search(q, limit=10))  # sqlite-utils orders by rank (bm25) by default
        times.append((time.perf_counter() - t0) * 1000)
    out["baseline_sqlite_utils_fts5_rank"] = {"p50_ms": median(times), "p95_ms": pct(times, 95)}
    out["keyword_p95_speedup_vs_baseline"] = (
        out["baseline_sqlite_utils_fts5_rank"]["p95_ms"] / out["keyword"]["p95_ms"]
    )
    mem.close()
    return out


def _print_ingest(ing: dict[str, Any]) -> None:
    r = ing["events_per_s_median"]
    print(
        f"ingest ({ing['events']} events, batches of {ing['batch']}, median of {ing['reps']}): API {r['api']:.0f} ev/s; "
        f"raw SQLCipher same schema same batches {r['raw_same_schema_same_batches']:.0f} "
        f"({ing['api_over_raw_same_schema_same_batches']:.2f}x), one transaction "
        f"{r['raw_same_schema_one_transaction']:.0f} ({ing['api_over_raw_same_schema_one_transaction']:.2f}x), "
        f"bare table {r['raw_bare_table_one_transaction']:.0f} ({ing['api_over_raw_bare_table_one_transaction']:.2f}x); "
        f"{ing['bytes_per_event_without_vectors']:.0f} B/event + {ing['bytes_per_event_vectors']} B vectors"
    )


def ingest_only(args: argparse.Namespace) -> None:
    """Measure ingest before embeddings alone (seconds, not minutes) and write memory_ingest.json."""
    work = CACHE / "work-ingest"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    start = os.getloadavg()
    ing = bench_ingest(args.ingest, work, None, 0, args.ingest_batch, args.reps)
    result = {"load_average_start": start, "ingest": ing, "load_average_end": os.getloadavg()}
    _print_ingest(ing)
    print("load average (1, 5, 15 min) at start", start, "at end", result["load_average_end"])
    print("wrote", write("memory_ingest", result))
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000", help="Search dataset sizes, comma-separated.")
    ap.add_argument("--ingest", type=int, default=20000, help="Events for the ingest measurement.")
    ap.add_argument(
        "--ingest-batch", type=int, default=1000, help="Events per push_batch (and per raw transaction)."
    )
    ap.add_argument("--queries", type=int, default=200, help="Queries per size.")
    ap.add_argument(
        "--embed-events", type=int, default=200, help="Events for the ingest-with-embeddings run."
    )
    ap.add_argument("--no-model", action="store_true", help="Skip MiniLM (no hybrid, no embedding ingest).")
    ap.add_argument(
        "--reps", type=int, default=3, help="Interleaved rounds of each ingest variant (medians are quoted)."
    )
    ap.add_argument(
        "--ingest-only",
        action="store_true",
        help="Measure only ingest before embeddings (no model, no search); writes memory_ingest.json.",
    )
    args = ap.parse_args()
    minilm = None
    if args.ingest_only:
        ingest_only(args)
        return
    if not args.no_model:
        from runtime.config import Config
        from runtime.store import ModelStore
        from skills.memory.embed import MiniLMEmbedder

        store = ModelStore(Config.from_env().models_dir)
        minilm = MiniLMEmbedder(store.ensure("minilm-l6-int8").path)
        minilm.embed(["warm up"])
    work = CACHE / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result: dict[str, Any] = {
        "load_average_start": os.getloadavg(),
        "ingest": bench_ingest(args.ingest, work, minilm, args.embed_events, args.ingest_batch, args.reps),
        "search": [],
    }
    result["ingest"]["load_average_after"] = os.getloadavg()
    ing = result["ingest"]
    _print_ingest(ing)
    if "with_embeddings" in ing:
        w = ing["with_embeddings"]
        print(
            f"  with embeddings: push returns at {w['push_returned_events_per_s']:.0f} ev/s, embedded at "
            f"{w['embedded_events_per_s']:.0f} ev/s"
        )
    for n in (int(x) for x in args.sizes.split(",")):
        r = bench_search(n, minilm, args.queries)
        r["load_average_after"] = os.getloadavg()
        result["search"].append(r)
        b = r["baseline_sqlite_utils_fts5_rank"]
        print(
            f"{n} events: keyword p50 {r['keyword']['p50_ms']:.1f} / p95 {r['keyword']['p95_ms']:.1f} ms; hybrid "
            f"p50 {r['hybrid']['p50_ms']:.1f} / p95 {r['hybrid']['p95_ms']:.1f} ms (uncached query embedding p95 "
            f"{r['hybrid_uncached_query_embedding']['p95_ms']:.1f}); sqlite-utils ranked p50 "
            f"{b['p50_ms']:.1f} / p95 {b['p95_ms']:.1f} ms ({r['keyword_p95_speedup_vs_baseline']:.1f}x at p95)"
        )
    result["load_average_end"] = os.getloadavg()
    print(
        "load average (1, 5, 15 min) at start",
        result["load_average_start"],
        "at end",
        result["load_average_end"],
    )
    print("wrote", write("memory", result))


if __name__ == "__main__":
    main()
