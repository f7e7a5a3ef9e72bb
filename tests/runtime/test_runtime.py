"""The Runtime facade's defaults."""

from __future__ import annotations

from pathlib import Path

from runtime.config import Config
from runtime.engines.fake import FakeTextEngine
from runtime.probe import probe, total_ram
from runtime.runtime import Runtime


def test_default_memory_budget_is_half_of_ram_without_probing(tmp_path: Path) -> None:
    rt = Runtime(Config.from_env({"ASSISTANT_HOME": str(tmp_path)}))
    assert rt._facts is None  # building a runtime must not run the full probe
    assert rt.scheduler.memory_budget == total_ram() // 2
    assert abs(total_ram() - probe().ram_total) < 0.05 * probe().ram_total


def test_with_config_answers_roles_from_its_config_and_shares_loaded_models(tmp_path: Path) -> None:
    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path)}).with_(chat_model="big-model")
    rt = Runtime(cfg)
    view = rt.with_config(cfg.with_(chat_model="small-model"))
    assert view.model_for("chat") == "small-model"
    assert rt.config is cfg and rt.model_for("chat") == "big-model"  # left as it was
    assert view.scheduler is rt.scheduler and view.store is rt.store
    eng = FakeTextEngine("small-model")
    assert view.hold("small-model", lambda mid: (eng, eng.report)) is eng
    assert [m.model_id for m in rt.scheduler.loaded()] == ["small-model"]  # loaded once, for both
    view.release("small-model")


def test_explicit_budget_wins(tmp_path: Path) -> None:
    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path), "ASSISTANT_MEMORY_BUDGET": "1G"})
    assert Runtime(cfg).scheduler.memory_budget == 1 << 30
