from __future__ import annotations

import pytest

from runtime.config import Config


@pytest.fixture
def tui_config(tmp_path, config: Config) -> Config:  # type: ignore[no-untyped-def]
    """Per-test data dir (fresh conversations) sharing the session's model store."""
    return config.with_(data_dir=tmp_path / "data", config_dir=tmp_path / "config")


@pytest.fixture(scope="session")
def services(config: Config, real_runtime):  # type: ignore[no-untyped-def]
    """Services sharing the session runtime, so models load once; the small model chats."""
    from assistant.services import Services

    cfg = config.with_(chat_model="smollm2-135m")
    real_runtime.config = cfg
    return Services(cfg, runtime=real_runtime)
