"""Child process for the crash test: ingests 10,000 events in batches and prints each acked id."""

from __future__ import annotations

import sys
from pathlib import Path

from skills.memory import Caller, MemoryOptions, MemorySkill, StoreOptions
from skills.memory.embed import FakeEmbedder


def main() -> None:
    path = Path(sys.argv[1])
    mem = MemorySkill(MemoryOptions(StoreOptions(path, key_source="file")), embedder=FakeEmbedder())
    app = Caller("ingest")
    for start in range(0, 10_000, 50):
        batch = [
            {
                "kind": "message",
                "title": f"message {i}",
                "body": f"body of event number {i} lorem ipsum",
                "idempotency_key": f"k{i}",
            }
            for i in range(start, start + 50)
        ]
        results = mem.push_batch(app, batch)
        sys.stdout.write("".join(f"{r.id} k{start + j}\n" for j, r in enumerate(results)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
