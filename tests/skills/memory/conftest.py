"""Fixtures for memory tests: real encrypted SQLite files in tmp dirs, a fake embedder for logic,
and the real MiniLM embedder from the store (loaded once per session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from skills.memory import MemoryOptions, MemorySkill, StoreOptions
from skills.memory.embed import FakeEmbedder


@pytest.fixture
def make_memory(tmp_path: Path) -> Iterator[Callable[..., MemorySkill]]:
    """Build MemorySkills on real SQLCipher files under tmp_path (key in a file: no keyring here)."""
    made: list[MemorySkill] = []

    def make(name: str = "memory.db", embedder: Any = "fake", **opts: Any) -> MemorySkill:
        store_opts = {k: opts.pop(k) for k in ("encrypt", "synchronous") if k in opts}
        emb = FakeEmbedder() if embedder == "fake" else embedder
        m = MemorySkill(
            MemoryOptions(StoreOptions(tmp_path / name, key_source="file", **store_opts), **opts),
            embedder=emb,
        )
        made.append(m)
        return m

    yield make
    for m in made:
        try:
            m.close()
        except Exception:
            pass


@pytest.fixture(scope="session")
def minilm(real_store: Any) -> Any:
    from skills.memory.embed import MiniLMEmbedder

    model = real_store.ensure("minilm-l6-int8")
    emb = MiniLMEmbedder(model.path)
    emb.embed(["warm up"])
    return emb
