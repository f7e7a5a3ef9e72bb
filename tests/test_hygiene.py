"""Rules for the test tree itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_nothing_imports_from_a_conftest() -> None:
    """conftest.py holds fixtures, which pytest injects; what tests import (helpers, constants)
    lives in a helpers module beside it. Importing a conftest runs it a second time as a plain
    module, so its fixtures get registered twice under two names."""
    offenders = []
    for folder in ("tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "conftest":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                if isinstance(node, ast.Import) and any(
                    a.name.split(".")[-1] == "conftest" for a in node.names
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "import these from a helpers module instead: " + ", ".join(offenders)
