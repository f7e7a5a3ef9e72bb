"""The real MiniLM int8 embedder from the store, and hybrid recall with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skills.memory import Caller, SearchOptions

pytestmark = pytest.mark.real_model


def test_minilm_vectors_are_unit_length_and_meaningful(minilm: Any) -> None:
    v = minilm.embed(
        ["The cat sat on the mat.", "A kitten is sitting on a rug.", "Quarterly tax filing deadline"]
    )
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > 0.5 > v[0] @ v[2]
    assert minilm.report is not None and minilm.report.device == "cpu"
    # batching and ordering do not change a text's vector
    again = minilm.embed(["Quarterly tax filing deadline", "The cat sat on the mat."])
    assert np.allclose(again[0], v[2], atol=1e-4) and np.allclose(again[1], v[0], atol=1e-4)
    assert minilm.embed([]).shape == (0, 384)


def test_hybrid_search_finds_paraphrases(make_memory: Any, minilm: Any) -> None:
    mem = make_memory(embedder=minilm)
    app = Caller("notes")
    car = mem.push(app, {"kind": "note", "title": "Took the automobile to the mechanic for new brakes"}).id
    mem.push(app, {"kind": "note", "title": "Dinner reservation at the Italian place"})
    mem.push(app, {"kind": "note", "title": "Renew passport before the trip"})
    assert mem.wait_embedded(30)
    assert mem.search(app, "car repair", SearchOptions(mode="keyword")) == []
    hits = mem.search(app, "car repair", SearchOptions(mode="hybrid"))
    assert hits[0].event.id == car and hits[0].cosine > 0.4
    assert mem.embedder is minilm


def test_the_memory_skill_holds_minilm_under_the_runtime_memory_budget(
    real_runtime: Any, tmp_path: Path
) -> None:
    from runtime.config import Config
    from assistant.services import Services
    from skills.memory import create
    from skills.memory.embed import MODEL_ID

    services = Services(Config.from_env({"ASSISTANT_HOME": str(tmp_path)}), runtime=real_runtime)
    holders = real_runtime.scheduler.holders(MODEL_ID)  # other skills on the shared runtime may hold it
    skill = create(services, background=False)
    try:
        assert skill.embedder.embed(["the lease contract"]).shape == (1, 384)
        held = {m.model_id: m for m in real_runtime.scheduler.loaded()}[MODEL_ID]
        assert held.in_use and held.memory_bytes == real_runtime.store.get(MODEL_ID).path.stat().st_size
        assert real_runtime.scheduler.holders(MODEL_ID) == holders + 1
    finally:
        skill.close()
    assert real_runtime.scheduler.holders(MODEL_ID) == holders  # released at close
