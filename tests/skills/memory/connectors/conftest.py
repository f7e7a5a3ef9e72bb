"""Fixtures for connector tests: a context rooted at a temporary home, and a runner helper."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pytest

from skills.memory.connectors.base import ConnectorContext, ConnectorSettings


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def ctx_for(home: Path, tmp_path: Path) -> Callable[..., ConnectorContext]:
    def make(
        *paths: str | Path, now: float | None = None, env: dict[str, str] | None = None
    ) -> ConnectorContext:
        return ConnectorContext(
            home=home,
            settings=ConnectorSettings(True, tuple(str(p) for p in paths)),
            own_dirs=(tmp_path / "assistant-data",),
            now=now or time.time(),
            env=env if env is not None else {},
        )

    return make
