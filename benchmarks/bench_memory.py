"""Memory benchmark: ingest rate, search latency (keyword and hybrid) and bytes per event, on
synthetic multi-app data, next to raw SQLCipher inserts and a plain sqlite-utils FTS5 ranked search.

    .venv/bin/python -m benchmarks.bench_memory                      # 10k and 100k
    .venv/bin/python -m benchmarks.bench_memory --sizes 10000,100000,1000000

Search datasets are built once with raw executemany into the memory schema (plus a sqlite-utils
FTS table for the baseline) and cached under /tmp/bench_memory. Stored vectors for hybrid search
are random unit vectors (their values do not change the cost); queries are embedded with
the real MiniLM model, so hybrid latency includes embedding the query.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.common import median, pct, write

CACHE = Path("/tmp/bench_memory")
APPS = [("mail", "message"), ("firefox", "url"), ("files", "file_opened"), ("chat", "message"),
        ("calendar", "calendar"), ("notes", "note"), ("contacts", "contact")]
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
    weights = [1.0 / (r + 1) ** 1.05 for r in range(len(vocab))]
    now = time.time()
    rows = []
    for i in range(n):
        app, kind = APPS[i % len(APPS)]
        words = rnd.choices(vocab, weights, k=25)
        rows.append({
            "app": app, "kind": kind, "title": " ".join(words[:5]), "body": " ".join(words[5:]),
            "uri": f"https://example.com/{words[0]}/{i}" if kind == "url" else "",
            "entities": {"people": [PEOPLE[i % len(PEOPLE)]], "files": [], "places": []},
            "created": now - (n - i) * 2.0,
        })
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

    return MemorySkill(MemoryOptions(StoreOptions(path, key_source="file"), background=background), embedder=embedder)


def bench_ingest(n: int, work: Path, minilm: Any, embed_events: int) -> dict[str, Any]:
    from skills.memory import Caller

    rows = make_rows(n, seed=11)
    mem = _skill(work / "ingest.db")
    app = Caller.user()
    t0 = time.perf_counter()
    for s in range(0, n, 500):
        mem.push_batch(app, rows[s:s + 500])
    api = n / (time.perf_counter() - t0)
    mem.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    bytes_per_event = mem.store.file_bytes() / n
    # the same rows through a raw executemany on a SQLCipher connection: bare table, and our schema
    import json

    raw = mem.store.conn
    flat = [(r["app"], r["kind"], r["title"], r["body"], r["uri"], json.dumps(r["entities"]), "normal", r["created"],
             r["created"] + 30 * 86400) for r in rows]
    raw.execute("CREATE TABLE bare (app, kind, title, body, uri, entities, sensitivity, created, expires)")
    t0 = time.perf_counter()
    raw.execute("BEGIN")
    raw.executemany("INSERT INTO bare VALUES (?,?,?,?,?,?,?,?,?)", flat)
    raw.execute("COMMIT")
    raw_bare = n / (time.perf_counter() - t0)
    mem.close()
    fresh = _skill(work / "raw.db")
    conn = fresh.store.conn
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events (id, app, kind, title, body, uri, entities, sensitivity, created, expires) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?)", [(i + 1, *f) for i, f in enumerate(flat)])
    conn.executemany("INSERT INTO events_fts (rowid, title, body, uri, entities) VALUES (?,?,?,?,?)",
                     [(i + 1, r["title"], r["body"], r["uri"], " ".join(r["entities"]["people"]))
                      for i, r in enumerate(rows)])
    conn.execute("COMMIT")
    raw_schema = n / (time.perf_counter() - t0)
    fresh.close()
    # The same rows and schema, committed in the API's batches of 500: the durability the API gives.
    batched = _skill(work / "raw_batched.db")
    conn = batched.store.conn
    t0 = time.perf_counter()
    for s in range(0, n, 500):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events (id, app, kind, title, body, uri, entities, sensitivity, created, "
                         "expires) VALUES (?,?,?,?,?,?,?,?,?,?)", [(i + 1, *flat[i]) for i in range(s, min(n, s + 500))])
        conn.executemany("INSERT INTO events_fts (rowid, title, body, uri, entities) VALUES (?,?,?,?,?)",
                         [(i + 1, rows[i]["title"], rows[i]["body"], rows[i]["uri"],
                           " ".join(rows[i]["entities"]["people"])) for i in range(s, min(n, s + 500))])
        conn.execute("COMMIT")
    raw_batched = n / (time.perf_counter() - t0)
    batched.close()
    out = {"events": n, "api_batched_events_per_s": api, "raw_sqlcipher_bare_table_events_per_s": raw_bare,
           "raw_sqlcipher_same_schema_events_per_s": raw_schema, "api_over_raw_bare": api / raw_bare,
           "api_over_raw_same_schema": api / raw_schema,
           "raw_sqlcipher_same_schema_batched_500_events_per_s": raw_batched,
           "api_over_raw_same_schema_batched_500": api / raw_batched, "bytes_per_event_without_vectors": bytes_per_event,
           "bytes_per_event_vectors": 388 + 16}
    # with embeddings: until the background worker has embedded everything (real MiniLM)
    if minilm is not None:
        m = embed_events
        mem = _skill(work / "embed.db", embedder=minilm, background=True)
        more = make_rows(m, seed=12)
        t0 = time.perf_counter()
        for s in range(0, m, 250):
            mem.push_batch(app, more[s:s + 250])
        pushed = time.perf_counter() - t0
        mem.wait_embedded(600)
        out["with_embeddings"] = {"events": m, "push_returned_events_per_s": m / pushed,
                                  "embedded_events_per_s": m / (time.perf_counter() - t0)}
        mem.close()
    return out


def build_dataset(n: int) -> Path:
    """Return a cached database of n events in the memory schema, with vectors and a baseline FTS table."""
    import json

    import numpy as np
    import sqlite_utils

    from skills.memory.embed import FakeEmbedder, quantize

    path = CACHE / f"mem-{n}.db"
    if (CACHE / f"mem-{n}.done").exists():
        return path
    for p in CACHE.glob(f"mem-{n}.db*"):
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
        conn.executemany("INSERT INTO events (id, app, kind, title, body, uri, entities, sensitivity, created, "
                         "expires) VALUES (?,?,?,?,?,?,?,?,?,?)",
                         [(i, r["app"], r["kind"], r["title"], r["body"], r["uri"], json.dumps(r["entities"]),
                           "normal", r["created"] - (n - s) * 2.0, time.time() + 30 * 86400)
                          for i, r in zip(ids, part)])
        conn.executemany("INSERT INTO events_fts (rowid, title, body, uri, entities) VALUES (?,?,?,?,?)",
                         [(i, r["title"], r["body"], r["uri"], " ".join(r["entities"]["people"]))
                          for i, r in zip(ids, part)])
        # Random unit vectors: their values do not change the search cost, and hashing 1M texts
        # through FakeEmbedder would take most of the build time.
        raw_vecs = rng.standard_normal((len(part), fake.dim)).astype(np.float32)
        vecs = quantize(raw_vecs / np.linalg.norm(raw_vecs, axis=1, keepdims=True))
        conn.executemany("INSERT INTO embeddings (event_id, scale, vec) VALUES (?,?,?)",
                         [(i, sc, b) for i, (sc, b) in zip(ids, vecs)])
        conn.execute("COMMIT")
        db = sqlite_utils.Database(conn)
        db["baseline"].insert_all(({"id": i, "title": r["title"], "body": r["body"]} for i, r in zip(ids, part)),
                                  pk="id", batch_size=5000)
        print(f"  built {s + len(part)} / {n} ({time.perf_counter() - t0:.0f} s)", flush=True)
    mem.store.set_meta("embed_watermark", str(n))
    db = sqlite_utils.Database(conn)
    db["baseline"].enable_fts(["title", "body"], fts_version="FTS5")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    mem.close()
    (CACHE / f"mem-{n}.done").write_text("ok")
    return path


def bench_search(n: int, minilm: Any, count: int) -> dict[str, Any]:
    import sqlite_utils

    from skills.memory import Caller, SearchOptions

    path = build_dataset(n)
    qs = queries(count)
    mem = _skill(path, embedder=minilm)
    user = Caller.user()
    out: dict[str, Any] = {"events": n, "queries": len(qs)}
    mem.search(user, "warm up", SearchOptions(mode="hybrid"))  # loads the vector index once
    for mode in ("keyword", "hybrid"):
        times = []
        for q in qs:
            t0 = time.perf_counter()
            mem.search(user, q, SearchOptions(mode=mode))
            times.append((time.perf_counter() - t0) * 1000)
        out[mode] = {"p50_ms": median(times), "p95_ms": pct(times, 95)}
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
    out["keyword_p95_speedup_vs_baseline"] = out["baseline_sqlite_utils_fts5_rank"]["p95_ms"] / out["keyword"]["p95_ms"]
    mem.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000", help="Search dataset sizes, comma-separated.")
    ap.add_argument("--ingest", type=int, default=20000, help="Events for the ingest measurement.")
    ap.add_argument("--queries", type=int, default=200, help="Queries per size.")
    ap.add_argument("--embed-events", type=int, default=200, help="Events for the ingest-with-embeddings run.")
    ap.add_argument("--no-model", action="store_true", help="Skip MiniLM (no hybrid, no embedding ingest).")
    args = ap.parse_args()
    minilm = None
    if not args.no_model:
        from assistant.config import Config
        from runtime.store import ModelStore
        from skills.memory.embed import MiniLMEmbedder

        store = ModelStore(Config.from_env().models_dir)
        minilm = MiniLMEmbedder(store.ensure("minilm-l6-int8").path)
        minilm.embed(["warm up"])
    work = CACHE / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result: dict[str, Any] = {"ingest": bench_ingest(args.ingest, work, minilm, args.embed_events), "search": []}
    ing = result["ingest"]
    print(f"ingest: API {ing['api_batched_events_per_s']:.0f} ev/s, raw SQLCipher bare "
          f"{ing['raw_sqlcipher_bare_table_events_per_s']:.0f} ev/s ({ing['api_over_raw_bare']:.2f}x), same schema "
          f"{ing['raw_sqlcipher_same_schema_events_per_s']:.0f} ev/s ({ing['api_over_raw_same_schema']:.2f}x), same "
          f"schema in batches of 500 {ing['raw_sqlcipher_same_schema_batched_500_events_per_s']:.0f} ev/s "
          f"({ing['api_over_raw_same_schema_batched_500']:.2f}x); "
          f"{ing['bytes_per_event_without_vectors']:.0f} B/event + {ing['bytes_per_event_vectors']} B vectors")
    if "with_embeddings" in ing:
        w = ing["with_embeddings"]
        print(f"  with embeddings: push returns at {w['push_returned_events_per_s']:.0f} ev/s, embedded at "
              f"{w['embedded_events_per_s']:.0f} ev/s")
    for n in (int(x) for x in args.sizes.split(",")):
        r = bench_search(n, minilm, args.queries)
        result["search"].append(r)
        b = r["baseline_sqlite_utils_fts5_rank"]
        print(f"{n} events: keyword p50 {r['keyword']['p50_ms']:.1f} / p95 {r['keyword']['p95_ms']:.1f} ms; hybrid "
              f"p50 {r['hybrid']['p50_ms']:.1f} / p95 {r['hybrid']['p95_ms']:.1f} ms (uncached query embedding p95 "
              f"{r['hybrid_uncached_query_embedding']['p95_ms']:.1f}); sqlite-utils ranked p50 "
              f"{b['p50_ms']:.1f} / p95 {b['p95_ms']:.1f} ms ({r['keyword_p95_speedup_vs_baseline']:.1f}x at p95)")
    print("wrote", write("memory", result))


if __name__ == "__main__":
    main()
