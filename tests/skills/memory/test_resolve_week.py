"""Reference resolution on generated weeks of multi-app activity (benchmarks/memory_week.py), with
seeds the benchmark does not use, at two hours of the day: "that file", "her", "the spreadsheet from
yesterday" must find what the week holds whatever the time the check runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from benchmarks.memory_week import week
from skills.memory import Caller, MemoryOptions, MemorySkill, StoreOptions


def _at(hour: float) -> float:
    lt = time.localtime(time.time() - 86400)
    return time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, int(hour), int(hour % 1 * 60), 0, 0, 0, -1))


@pytest.mark.parametrize("seed,hour", [(11, 9.5), (12, 16.0)])
def test_references_resolve_on_an_unseen_week(tmp_path: Path, seed: int, hour: float) -> None:
    now = _at(hour)
    w = week(seed, now=now)
    mem = MemorySkill(MemoryOptions(StoreOptions(tmp_path / "m.db", key_source="file"), clock=lambda: now))
    keys: dict[int, str] = {}
    try:
        by_app: dict[str, list[dict[str, object]]] = {}
        for e in sorted(w.events, key=lambda e: e["created"]):
            by_app.setdefault(str(e["_app"]), []).append(e)
        for app, evs in by_app.items():
            clean = [{k: v for k, v in e.items() if not k.startswith("_")} for e in evs]
            for e, res in zip(evs, mem.push_batch(Caller(app, frozenset({"memory:write"})), clean)):
                keys[res.id] = str(e["_key"])
        misses = []
        for q in w.queries:
            top = mem.resolve(Caller.user(), q.text, limit=3)
            got = (top[0].entity if q.person else keys.get(top[0].event.id)) if top else None
            want = q.person if q.person else q.keys
            if not (got == want if q.person else got in want):
                misses.append((q.text, want, got))
        assert len(misses) <= len(w.queries) // 20, misses  # top-1 at least 95 %
    finally:
        mem.close()
