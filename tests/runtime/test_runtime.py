"""The Runtime facade's defaults."""

from __future__ import annotations

from pathlib import Path

from runtime.config import Config
from runtime.probe import probe, total_ram
from runtime.runtime import Runtime


def test_default_memory_budget_is_half_of_ram_without_probing(tmp_path: Path) -> None:
    rt = Runtime(Config.from_env({"ASSISTANT_HOME": str(tmp_path)}))
    assert rt._facts is None  # building a runtime must not run the full probe
    assert rt.scheduler.memory_budget == total_ram() // 2
    assert abs(total_ram() - probe().ram_total) < 0.05 * probe().ram_total


def test_explicit_budget_wins(tmp_path: Path) -> None:
    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path), "ASSISTANT_MEMORY_BUDGET": "1G"})
    assert Runtime(cfg).scheduler.memory_budget == 1 << 30
