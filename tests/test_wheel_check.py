"""The wheel check's own logic: what it accepts at the wheel's top level and which package data it requires.

The check itself (build, fresh venv, non-editable install, commands run outside the source tree) runs in
`scripts/check`; this only proves that its wheel inspection can fail.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _wheel_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wheel_check", ROOT / "scripts" / "wheel_check.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _wheel(tmp_path: Path, names: list[str]) -> Path:
    path = tmp_path / "assistant_runtime-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(n, "x")
    return path


def test_accepts_the_four_packages_with_their_data(tmp_path: Path) -> None:
    wc = _wheel_check()
    names = [
        *wc.DATA,
        "runtime/__init__.py",
        "skills/__init__.py",
        "assistant_runtime-0.1.0.dist-info/RECORD",
    ]
    wc.check_wheel(_wheel(tmp_path, names))


def test_refuses_an_extra_top_level_name(tmp_path: Path) -> None:
    wc = _wheel_check()
    names = [
        *wc.DATA,
        "runtime/a.py",
        "skills/a.py",
        "packaging/x.py",
        "assistant_runtime-0.1.0.dist-info/RECORD",
    ]
    with pytest.raises(wc.CheckError, match="packaging"):
        wc.check_wheel(_wheel(tmp_path, names))


def test_refuses_a_wheel_without_the_tokenizer(tmp_path: Path) -> None:
    wc = _wheel_check()
    data = [d for d in wc.DATA if not d.endswith("tokenizer.json")]
    names = [*data, "runtime/a.py", "skills/a.py", "assistant_runtime-0.1.0.dist-info/RECORD"]
    with pytest.raises(wc.CheckError, match="tokenizer.json"):
        wc.check_wheel(_wheel(tmp_path, names))


def test_refuses_a_wheel_that_leaves_a_module_out(tmp_path: Path) -> None:
    wc = _wheel_check()
    src = tmp_path / "src"
    for rel in ("runtime/__init__.py", "runtime/store.py", "skills/memory/connectors/base.py"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("")
    names = [*wc.DATA, "runtime/__init__.py", "runtime/store.py", "skills/x.py", "a-0.1.dist-info/RECORD"]
    with pytest.raises(wc.CheckError, match="skills/memory/connectors/base.py"):
        wc.check_wheel(_wheel(tmp_path, names), src)
