"""A writer killed with SIGKILL in the middle of a 10,000-event ingest loses no acknowledged event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from skills.memory import Caller, MemoryOptions, MemorySkill, StoreOptions

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_ingest_keeps_every_acked_event(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.skills.memory.writer_child", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    acked: dict[int, str] = {}
    for line in proc.stdout:
        eid, key = line.split()
        acked[int(eid)] = key
        if len(acked) >= 3000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    for line in proc.stdout:  # ids printed before the kill landed are acknowledged too
        if line.endswith("\n"):
            eid, key = line.split()
            acked[int(eid)] = key
    assert proc.returncode == -signal.SIGKILL
    assert 3000 <= len(acked) < 10_000, "the writer must die mid-ingest"

    mem = MemorySkill(MemoryOptions(StoreOptions(db, key_source="file"), background=False))
    try:
        assert mem.store.query("PRAGMA integrity_check") == [("ok",)]
        assert mem.store.query("INSERT INTO events_fts(events_fts) VALUES ('integrity-check')") == []
        stored = dict(mem.store.query("SELECT id, idem FROM events"))
        missing = [i for i in acked if stored.get(i) != acked[i]]
        assert missing == []
        # and the keyword index has them: a late acked event is findable
        last = max(acked)
        n = int(acked[last][1:])
        assert (
            mem.search(
                Caller.user(),
                f"number {n}",
            )
            != []
        )
    finally:
        mem.close()
