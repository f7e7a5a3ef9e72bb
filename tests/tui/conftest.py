from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from runtime.config import Config

if TYPE_CHECKING:
    from assistant.services import Services
    from runtime.runtime import Runtime


@pytest.fixture
def tui_config(tmp_path, config: Config) -> Config:  # type: ignore[no-untyped-def]
    """Per-test data dir (fresh conversations) sharing the session's model store."""
    return config.with_(data_dir=tmp_path / "data", config_dir=tmp_path / "config")


@pytest.fixture(scope="session")
def services(real_runtime: Runtime) -> Services:
    """Services over the session runtime's loaded models, with the small model as the chat model.
    The session runtime's own config stays as it was (a with_config view), so the models other
    tests get never depend on whether a TUI test ran first."""
    from assistant.services import Services

    cfg = real_runtime.config.with_(chat_model="smollm2-135m")
    return Services(cfg, runtime=real_runtime.with_config(cfg))
