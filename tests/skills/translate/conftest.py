"""Translate fixtures: tiny .argosmodel packages (built by tests/skills/translate/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.skills.translate.helpers import build_tiny_model, pack_argos


@pytest.fixture(scope="session")
def argos_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three tiny .argosmodel files: en->de, de->en and en->fr."""
    root = tmp_path_factory.mktemp("argos")
    out = {}
    for i, pair in enumerate(("en-de", "de-en", "en-fr")):
        src, dst = pair.split("-")
        folder = build_tiny_model(root / pair, seed=i)
        out[pair] = pack_argos(folder, root / f"{src}_{dst}.argosmodel", src, dst)
    return out
