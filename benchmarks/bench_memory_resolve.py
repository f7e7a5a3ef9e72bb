"""Reference resolution benchmark: top-1/top-3 accuracy and latency of /v1/memory/resolve through a
real daemon (uvicorn on a Unix socket, the official httpx client), on generated weeks of multi-app
activity with routine noise (benchmarks/memory_week.py), then at 100k events for p95 latency; and the
idle CPU of a daemon process with every connector enabled.

    .venv/bin/python -m benchmarks.bench_memory_resolve                  # seeds 1-3, 100k, idle 60 s
    .venv/bin/python -m benchmarks.bench_memory_resolve --seeds 1 --big 0 --idle 0   # accuracy only
    .venv/bin/python -m benchmarks.bench_memory_resolve --verbose        # print each miss

Writes benchmarks/results/memory_resolve.json.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.common import median, pct, pinned_now, write
from benchmarks.memory_week import Query, week


def _memory(root: Path, background: bool = False, now: float | None = None) -> Any:
    """The memory skill over root; now: the clock it reads time words by (None: the real one)."""
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import FakeEmbedder

    opts = MemoryOptions(StoreOptions(root / "memory.db", key_source="file"), background=background)
    if now is not None:
        opts = replace(opts, clock=lambda: now)
    return MemorySkill(opts, embedder=FakeEmbedder() if background else None)


def _push(mem: Any, events: list[dict[str, Any]]) -> dict[int, str]:
    """Push events in the order they happened (as apps push them live), each under its app: every
    1,000 consecutive events go in one batch per app, so ids follow time to within a batch; return
    {id: key}."""
    from skills.memory import Caller

    keys: dict[int, str] = {}
    ordered = sorted(events, key=lambda e: e["created"])
    for s in range(0, len(ordered), 1000):
        by_app: dict[str, list[dict[str, Any]]] = {}
        for e in ordered[s : s + 1000]:
            by_app.setdefault(e["_app"], []).append(e)
        for app, run in by_app.items():
            clean = [{k: v for k, v in e.items() if not k.startswith("_")} for e in run]
            for e, res in zip(run, mem.push_batch(Caller(app, frozenset({"memory:write"})), clean)):
                keys[res.id] = e["_key"]
    return keys


class _Daemon:
    """A real daemon in this process (as the daemon tests run it), serving mem on a Unix socket."""

    def __init__(self, root: Path, mem: Any) -> None:
        import threading

        import httpx

        from assistant.daemon.app import create_app
        from assistant.daemon.apps import AppRegistry
        from assistant.daemon.server import DaemonServer, bind
        from assistant.daemon.settings import DaemonConfig
        from assistant.services import Services
        from runtime.config import Config

        cfg = Config.from_env({"ASSISTANT_HOME": str(root)})
        self.services = Services(cfg, overrides={"memory": mem})
        settings = DaemonConfig.from_config(cfg)
        registry = AppRegistry(settings.registry_path)
        token = registry.add("bench", "memory:read,memory:write")
        registry.add("owner", "admin")
        self.server = DaemonServer(create_app(self.services, settings, registry), bind(settings))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.server.started:
            time.sleep(0.01)
        mem.grant(__import__("skills.memory", fromlist=["Caller"]).Caller.user(), "bench")
        self.cpu: list[float] = []
        self.client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(settings.socket_path)),
            base_url="http://localhost",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    def resolve(self, text: str, limit: int = 3) -> tuple[list[dict[str, Any]], float]:
        t0, c0 = time.perf_counter(), time.process_time()
        r = self.client.post("/v1/memory/resolve", json={"text": text, "limit": limit})
        dt = time.perf_counter() - t0
        # CPU time of this process (client and daemon both run here): what the call costs when no
        # other program competes for the cores, unlike wall time on a shared machine
        self.cpu.append(time.process_time() - c0)
        r.raise_for_status()
        return r.json()["candidates"], dt

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self.thread.join(10)
        self.server.cleanup()
        self.services.close()


def _correct(q: Query, cand: dict[str, Any], keys: dict[int, str]) -> bool:
    if q.person:
        return bool(cand.get("entity") == q.person)
    return keys.get(cand["event"]["id"]) in q.keys


def run_week(seed: int, verbose: bool, reps: int = 3) -> dict[str, Any]:
    # a week ending at a pinned hour: run after midnight, "a few hours ago" would be yesterday and
    # the week's own answers to "from yesterday" or "this morning" ambiguous
    now = pinned_now()
    w = week(seed, now=now)
    with tempfile.TemporaryDirectory(prefix="bench-resolve-") as tmp:
        root = Path(tmp)
        mem = _memory(root, now=now)
        keys = _push(mem, w.events)
        d = _Daemon(root, mem)
        try:
            top1 = top3 = 0
            lat: list[float] = []
            misses = []
            by_kind: dict[str, list[int]] = {}
            for q in w.queries:
                cands, dt = d.resolve(q.text)
                for _ in range(reps - 1):
                    lat.append(d.resolve(q.text)[1])
                lat.append(dt)
                ok1 = bool(cands) and _correct(q, cands[0], keys)
                ok3 = any(_correct(q, c, keys) for c in cands[:3])
                top1 += ok1
                top3 += ok3
                by_kind.setdefault(q.kind, [0, 0])
                by_kind[q.kind][0] += ok1
                by_kind[q.kind][1] += 1
                if not ok1:
                    got = [
                        (keys.get(c["event"]["id"]), c["event"]["title"][:40], c.get("entity"))
                        for c in cands[:3]
                    ]
                    misses.append({"query": q.text, "want": list(q.keys) or q.person, "got": got})
                    if verbose:
                        print(f"  miss [{seed}] {q.text!r}: want {q.keys or q.person}; got {got}")
            cpu = list(d.cpu)
        finally:
            d.close()
            mem.close()
    n = len(w.queries)
    return {
        "seed": seed,
        "events": len(w.events),
        "apps": len({e["_app"] for e in w.events}),
        "queries": n,
        "top1": top1 / n,
        "top3": top3 / n,
        "by_kind": {k: f"{a}/{b}" for k, (a, b) in sorted(by_kind.items())},
        "latency_ms": {"p50": median(lat) * 1000, "p95": pct(lat, 95) * 1000},
        "cpu_ms": {"p50": median(cpu) * 1000, "p95": pct(cpu, 95) * 1000},
        "misses": misses,
    }


def _filler(n: int, seed: int, now: float) -> list[dict[str, Any]]:
    """n more events of the same routine kinds from the weeks before the generated one (8 to 28 days
    ago), so the week's answers stay the answers and the haystack grows around them."""
    r = random.Random(seed)
    words = "report update meeting notes plan review draft final invoice order travel budget team".split()
    apps = [
        ("mail", "message"),
        ("slack", "message"),
        ("connector:browser", "url"),
        ("gedit", "file_opened"),
        ("shell", "x-shell"),
        ("connector:window", "note"),
        ("connector:git", "x-git"),
        ("connector:calendar", "calendar"),
    ]
    out = []
    for i in range(n):
        app, kind = r.choice(apps)
        title = " ".join(r.sample(words, 3)) + f" {i}"
        ev: dict[str, Any] = {
            "_app": app,
            "_key": "filler",
            "kind": kind,
            "title": title,
            "body": " ".join(r.sample(words, 6)),
            "created": now - r.uniform(8 * 86400, 28 * 86400),
        }
        if kind == "file_opened":
            ev["uri"] = (
                f"file:///home/me/{title.replace(' ', '-')}.{r.choice(['txt', 'xlsx', 'pdf', 'docx'])}"
            )
        if kind in ("message", "calendar"):
            ev["entities"] = {"people": [r.choice(["Ana Lima", "Bruno Costa", "Zoe Park", "Sam Lee"])]}
        out.append(ev)
    return out


def run_big(total: int, verbose: bool) -> dict[str, Any]:
    now = pinned_now()
    w = week(1, now=now)
    with tempfile.TemporaryDirectory(prefix="bench-resolve-big-") as tmp:
        root = Path(tmp)
        mem = _memory(root, now=now)
        t0 = time.perf_counter()
        keys = _push(mem, _filler(total - len(w.events), 99, w.now) + w.events)
        ingest = time.perf_counter() - t0
        d = _Daemon(root, mem)
        try:
            lat, top1 = [], 0
            for q in w.queries:
                for i in range(5):
                    cands, dt = d.resolve(q.text)
                    lat.append(dt)
                top1 += bool(cands) and _correct(q, cands[0], keys)
            cpu = list(d.cpu)
        finally:
            d.close()
            mem.close()
    return {
        "events": total,
        "ingest_s": round(ingest, 1),
        "queries": len(w.queries),
        "calls": len(lat),
        "top1": top1 / len(w.queries),
        "latency_ms": {"p50": median(lat) * 1000, "p95": pct(lat, 95) * 1000, "max": max(lat) * 1000},
        "cpu_ms": {"p50": median(cpu) * 1000, "p95": pct(cpu, 95) * 1000},
    }


IDLE_SERVER = r"""
import sys, time
from pathlib import Path
root = Path(sys.argv[1])
from benchmarks.bench_memory_resolve import _memory
from assistant.daemon.app import create_app
from assistant.daemon.apps import AppRegistry
from assistant.daemon.server import DaemonServer, bind
from assistant.daemon.settings import DaemonConfig
from assistant.services import Services
from runtime.config import Config
cfg = Config.from_env({"ASSISTANT_HOME": str(root)})
mem = _memory(root, background=True)
services = Services(cfg, overrides={"memory": mem})
settings = DaemonConfig.from_config(cfg)
DaemonServer(create_app(services, settings, AppRegistry(settings.registry_path)), bind(settings)).run()
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_first_runs(root: Path, proc: Any, timeout: float = 120.0) -> None:
    """Wait until every polled connector has run once in the daemon process (read from its database)."""
    from skills.memory.connectors import get, names
    from skills.memory.connectors.runner import load_status

    polled = [n for n in names() if get(n).interval > 0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(2)
        if not (root / "memory.db").exists():
            continue
        mem = _memory(root)
        try:
            done = all(load_status(mem, n).get("runs", 0) >= 1 for n in polled)
        finally:
            mem.close()
        if done:
            time.sleep(3)  # the embedding of what they stored
            return


def run_idle(seconds: float) -> dict[str, Any]:
    """Start a daemon process with every connector enabled (each with something to read), let the
    first runs finish, then measure its CPU time over `seconds`."""
    from skills.memory.connectors import names
    from skills.memory.connectors.config import ConnectorConfig

    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        root = Path(tmp)
        home = root / "home"
        (home / "cal").mkdir(parents=True)
        (home / "cal" / "w.ics").write_text(
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nDTSTART:20261130T090000Z\nSUMMARY:Standup\nEND:VEVENT\nEND:VCALENDAR\n"
        )
        (home / "people").mkdir()
        (home / "people" / "a.vcf").write_text("BEGIN:VCARD\nFN:Ana Lima\nTEL:+351 1\nEND:VCARD\n")
        repo = home / "repo"
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "-c",
                "user.name=A",
                "-c",
                "user.email=a@b",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "init",
            ],
            check=True,
        )
        conf = ConnectorConfig(root / "config")
        paths = {"calendar": (str(home / "cal"),), "contacts": (str(home / "people"),), "git": (str(repo),)}
        for n in names():
            conf.update(n, enabled=True, paths=paths.get(n, ()))
        env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        env.pop("DISPLAY", None)
        proc = subprocess.Popen([sys.executable, "-c", IDLE_SERVER, str(root)], env=env)
        try:
            _wait_first_runs(root, proc)  # start-up and every connector's first run are not idle
            c0, t0 = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            c1, t1 = _cpu_seconds(proc.pid), time.monotonic()
            mem = _memory(root)
            from skills.memory.connectors.runner import load_status

            statuses = {n: load_status(mem, n) for n in names()}
            mem.close()
        finally:
            proc.terminate()
            proc.wait(10)
    return {
        "seconds": round(t1 - t0, 1),
        "cpu_seconds": round(c1 - c0, 3),
        "cpu_percent_of_core": round(100 * (c1 - c0) / (t1 - t0), 3),
        "connectors": {n: {"runs": s.get("runs", 0), "error": s.get("error")} for n, s in statuses.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1,2,3", help="Generated weeks to check (comma-separated seeds).")
    ap.add_argument("--big", type=int, default=100_000, help="Events for the latency run (0: skip).")
    ap.add_argument("--idle", type=float, default=60.0, help="Seconds of idle CPU measurement (0: skip).")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    weeks = [run_week(int(s), args.verbose) for s in args.seeds.split(",") if s]
    for w in weeks:
        print(
            f"seed {w['seed']}: {w['events']} events, {w['apps']} apps, {w['queries']} queries: "
            f"top-1 {w['top1']:.1%}, top-3 {w['top3']:.1%}, p50 {w['latency_ms']['p50']:.1f} ms, "
            f"p95 {w['latency_ms']['p95']:.1f} ms"
        )
    out: dict[str, Any] = {"weeks": weeks}
    if weeks:
        out["top1"] = sum(w["top1"] * w["queries"] for w in weeks) / sum(w["queries"] for w in weeks)
        out["top3"] = sum(w["top3"] * w["queries"] for w in weeks) / sum(w["queries"] for w in weeks)
    if args.big:
        out["big"] = run_big(args.big, args.verbose)
        b = out["big"]
        print(
            f"{b['events']} events: p50 {b['latency_ms']['p50']:.1f} ms, p95 {b['latency_ms']['p95']:.1f} ms "
            f"(CPU p50 {b['cpu_ms']['p50']:.1f} ms, p95 {b['cpu_ms']['p95']:.1f} ms), top-1 {b['top1']:.1%}"
        )
    if args.idle:
        out["idle"] = run_idle(args.idle)
        print(
            f"idle daemon, every connector on: {out['idle']['cpu_percent_of_core']:.3f}% of a core "
            f"over {out['idle']['seconds']} s"
        )
    out["load_average"] = [
        round(x, 2) for x in os.getloadavg()
    ]  # how busy the cores were (read, not assumed)
    print(write("memory_resolve", out))


if __name__ == "__main__":
    main()
