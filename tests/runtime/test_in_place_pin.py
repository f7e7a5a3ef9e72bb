"""Models used in place (Bergamot inside its PyPI package) are pinned by a digest of all their files."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.catalog import Manifest, PackageSource, Sources, load_catalog
from runtime.errors import IntegrityError
from runtime.modelfiles import hash_tree
from runtime.store import ModelStore


def _manifest(sha256: str | None) -> Manifest:
    return Manifest(
        id="berg",
        name="b",
        description="",
        format="bergamot",
        roles=("translate",),
        license="MPL-2.0",
        file=None,
        size=None,
        sha256=sha256,
        directions=("en-pt",),
        sources=Sources(packages=(PackageSource("fake-pkg", "1.0", in_place="fake/models"),)),
    )


def _package(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg" / "models"
    (pkg / "enpt").mkdir(parents=True)
    (pkg / "enpt" / "model.bin").write_bytes(b"weights" * 100)
    (pkg / "enpt" / "vocab.spm").write_bytes(b"vocab")
    return pkg


def test_in_place_model_is_hashed_on_install_and_verify(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    digest, size = hash_tree(pkg)
    store = ModelStore(tmp_path / "store", {"berg": _manifest(digest)}, locate=lambda p, rel: pkg)
    rec = store.pull("berg")
    assert rec.sha256 == digest and rec.size == size == 705  # recorded, so `pull` prints a real hash
    assert store.verify("berg") == rec
    (pkg / "enpt" / "vocab.spm").write_bytes(b"vocaB")  # same size, different bytes
    with pytest.raises(IntegrityError, match="corrupted"):
        store.verify("berg")


def test_in_place_model_with_other_files_is_refused(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    pinned = hash_tree(pkg)[0]
    (pkg / "enpt" / "extra.bin").write_bytes(b"")  # a file added changes the digest too
    store = ModelStore(tmp_path / "store", {"berg": _manifest(pinned)}, locate=lambda p, rel: pkg)
    with pytest.raises(IntegrityError, match="catalog pins"):
        store.pull("berg")
    assert store.list() == []


def test_shipped_bergamot_manifest_pins_the_installed_package() -> None:
    from runtime.store import package_file

    m = load_catalog()["bergamot-en-pt"]
    pkg = m.in_place
    assert pkg is not None and pkg.in_place is not None and m.sha256 is not None
    assert hash_tree(package_file(pkg.name, pkg.in_place)) == (m.sha256, m.size)
