"""Every benchmark runs the same way, `python -m benchmarks.bench_NAME`: no sys.path edits, a main()."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_is_a_module_with_a_main(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "sys.path" not in text, f"{path.name} edits sys.path; import through the benchmarks package"
    assert f"python benchmarks/{path.name}" not in text, "document `python -m benchmarks.NAME`"
    assert 'if __name__ == "__main__":' in text
    mod = importlib.import_module(f"benchmarks.{path.stem}")
    assert callable(getattr(mod, "main", None))


def test_there_are_benchmarks() -> None:
    assert len(BENCHMARKS) >= 7
