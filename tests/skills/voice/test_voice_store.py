"""Piper voices in the model store: the shipped voice with its config pinned, voices added from a
local .onnx (+ .onnx.json) or pulled from a URL, and broken voices refused with the fix."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from runtime.catalog import load_catalog, parse_manifest
from runtime.engines.piper import DEFAULT_VOICE, PiperEngine
from runtime.errors import ConfigError, InstallError, IntegrityError, LoadError
from runtime.store import ModelStore


@pytest.fixture(scope="module")
def voice_files(real_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped voice as a user would have it: en_US-joe-medium.onnx + .onnx.json."""
    d = tmp_path_factory.mktemp("voice-files")
    src = real_store.ensure(DEFAULT_VOICE).path
    shutil.copy(src, d / "en_US-joe-medium.onnx")
    shutil.copy(str(src) + ".json", d / "en_US-joe-medium.onnx.json")
    return d


def test_the_shipped_voice_pins_both_files(tmp_path: Path) -> None:
    m = load_catalog()[DEFAULT_VOICE]
    assert m.roles == ("tts",) and m.format == "onnx" and m.file == "model.onnx"
    assert dict(m.extra_sha256) == {
        "model.onnx.json": "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"
    }
    store = ModelStore(tmp_path / "s")
    rec = store.pull(DEFAULT_VOICE)
    assert store.verify(DEFAULT_VOICE) == rec
    (rec.path.parent / "model.onnx.json").write_text("{}")  # a changed config is caught like changed weights
    with pytest.raises(IntegrityError, match="model.onnx.json should have sha256 3d6d5410b379"):
        store.verify(DEFAULT_VOICE)


def test_manifest_refuses_a_bad_companion_hash(tmp_path: Path) -> None:
    data = {
        "id": "v",
        "name": "V",
        "format": "onnx",
        "roles": ["tts"],
        "license": "MIT",
        "file": "model.onnx",
        "size": 1,
        "sha256": "0" * 64,
        "extra_sha256": {"model.onnx.json": "nothex"},
        "sources": {"urls": ["https://example.com/v.onnx"]},
    }
    with pytest.raises(ConfigError, match="extra_sha256"):
        parse_manifest(data, tmp_path / "v.toml")


def test_add_a_voice_with_its_config_beside_it(tmp_path: Path, voice_files: Path) -> None:
    store = ModelStore(tmp_path / "s", catalog={})
    rec = store.add(voice_files / "en_US-joe-medium.onnx", "my-voice")
    assert rec.roles == ("tts",) and (rec.path.parent / "model.onnx.json").is_file()
    engine = PiperEngine.load("my-voice", rec.path)
    assert engine.sample_rate == 22050 and engine.report.device == "cpu" and engine.report.reasons
    lone = tmp_path / "lone.onnx"
    shutil.copy(voice_files / "en_US-joe-medium.onnx", lone)
    with pytest.raises(InstallError, match="has no config beside it"):
        store.add(lone, "lone", roles=["tts"])
    assert store.add(lone, "lone").roles == ("embed",)  # without a config it is a plain ONNX model


def test_corrupt_voice_files_are_one_line_load_errors(tmp_path: Path, voice_files: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07" + b"\x00" * 5000)
    shutil.copy(voice_files / "en_US-joe-medium.onnx.json", tmp_path / "bad.onnx.json")
    with pytest.raises(LoadError, match="is not a valid ONNX voice") as err:
        PiperEngine.load("bad", bad)
    assert "assistant models verify bad" in str(err.value.fix)
    shutil.copy(voice_files / "en_US-joe-medium.onnx", tmp_path / "cfg.onnx")
    (tmp_path / "cfg.onnx.json").write_text("{not json")
    with pytest.raises(LoadError, match="unreadable config cfg.onnx.json"):
        PiperEngine.load("cfg", tmp_path / "cfg.onnx")


@pytest.fixture
def served(voice_files: Path) -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(voice_files))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined,method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pull_a_voice_by_url_fetches_its_config_too(tmp_path: Path, served: str) -> None:
    store = ModelStore(tmp_path / "s", catalog={})
    sha = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
    rec = store.pull_url(f"{served}/en_US-joe-medium.onnx", "joe-url", sha256=sha)
    assert rec.roles == ("tts",) and (rec.path.parent / "model.onnx.json").is_file()
    with pytest.raises(IntegrityError, match="corrupted"):
        store.pull_url(f"{served}/en_US-joe-medium.onnx", "joe-bad", sha256="1" * 64)


def test_the_voice_is_held_in_the_memory_budget_and_released_after_use(
    real_runtime: Any, config: Any
) -> None:
    from assistant.services import Services

    voice = Services(config, runtime=real_runtime).skill("voice")
    sched = real_runtime.scheduler
    with voice.voice(DEFAULT_VOICE) as engine:
        loaded = {m.model_id: m for m in sched.loaded()}
        assert loaded[DEFAULT_VOICE].memory_bytes == 63201294 and loaded[DEFAULT_VOICE].in_use
        assert loaded[DEFAULT_VOICE].report.reasons  # the ONNX plan's reasons travel with it
        assert sched.holders(DEFAULT_VOICE) == 1 and not sched.unload(DEFAULT_VOICE)
        assert sum(c.duration for c in engine.synthesize("Hello.")) > 0.2
    assert sched.holders(DEFAULT_VOICE) == 0
    assert sched.unload(DEFAULT_VOICE)  # idle now: keep-alive (or memory pressure) can drop it
    assert DEFAULT_VOICE not in {m.model_id for m in sched.loaded()}
