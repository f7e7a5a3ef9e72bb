"""The TUI's shared fixtures leave the session alone: test order must not decide which model a
later test gets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.config import Config

if TYPE_CHECKING:
    from assistant.services import Services
    from runtime.runtime import Runtime


def test_tui_services_chat_on_the_small_model_without_changing_the_session_runtime(
    services: Services, real_runtime: Runtime, config: Config
) -> None:
    assert services.runtime.model_for("chat") == "smollm2-135m"
    assert real_runtime.config.chat_model == config.chat_model != "smollm2-135m"
    assert services.runtime.scheduler is real_runtime.scheduler  # the loaded models are shared
