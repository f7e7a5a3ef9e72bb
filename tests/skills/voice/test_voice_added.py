"""A Piper voice added from its file speaks by the file's name: `models add en_US-joe-medium.onnx`
installs it as en_us-joe-medium, and `say --voice en_US-joe-medium` finds it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from runtime.engines.piper import DEFAULT_VOICE
from tests.skills.voice.helpers import read_wav
from tests.skills.voice.test_cli import one_line_error, run


def test_an_added_voice_speaks_by_its_file_name(tmp_path: Path, real_store: Any) -> None:
    src = real_store.ensure(DEFAULT_VOICE).path
    voice = tmp_path / "en_US-joe-medium.onnx"
    shutil.copy(src, voice)
    shutil.copy(str(src) + ".json", str(voice) + ".json")
    home, models = tmp_path / "home", tmp_path / "models"
    added = run(["models", "add", str(voice)], home, models)
    assert added.returncode == 0 and "en_us-joe-medium" in added.stdout + added.stderr, added.stderr
    out = tmp_path / "hello.wav"
    said = run(
        ["say", "Hello from the added voice.", "--voice", "en_US-joe-medium", "--out", str(out)], home, models
    )
    assert said.returncode == 0, said.stderr
    assert len(read_wav(out)) > 16000 * 0.8  # at 16 kHz: most of a second of speech
    line = one_line_error(run(["say", "Hello.", "--voice", "en_US-nobody", "--out", str(out)], home, models))
    assert "unknown voice 'en_US-nobody'" in line
