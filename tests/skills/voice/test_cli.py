"""`assistant voice` and `assistant say` as users run them: one-line errors for no microphone, no
speaker, unreadable and empty audio; a spoken answer written with --out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.skills.voice.helpers import write_wav

BIN = str(Path(sys.executable).parent / "assistant")


def run(args: list[str], home: Path, models: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_MODELS_DIR": str(models), "COLUMNS": "200"}
    return subprocess.run(
        [BIN, *args], input=stdin.decode(), capture_output=True, text=True, env=env, timeout=300
    )


def one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 1, (p.stdout, p.stderr)
    # the memory skill may warn that no OS keyring exists; the error itself is the last two lines
    lines = p.stderr.strip().splitlines()[-2:]
    assert lines[0].startswith("error: ") and lines[1].startswith("fix: "), p.stderr
    assert sum(line.startswith("error: ") for line in p.stderr.splitlines()) == 1
    assert "Traceback" not in p.stderr
    return lines[0]


def test_no_microphone_and_no_speaker_are_one_line(tmp_path: Path, real_store: Any) -> None:
    line = one_line_error(run(["voice"], tmp_path, real_store.root))
    assert "no microphone found" in line
    line = one_line_error(run(["say", "Hello there."], tmp_path, real_store.root))
    assert "no speaker found" in line


def test_garbage_and_empty_audio(tmp_path: Path, real_store: Any) -> None:
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not audio at all" * 100)
    assert "cannot decode garbage.wav" in one_line_error(
        run(["voice", "--file", str(garbage)], tmp_path, real_store.root)
    )
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    line = one_line_error(
        run(["voice", "--file", str(empty), "--out", str(tmp_path / "a.wav")], tmp_path, real_store.root)
    )
    assert line == "error: no speech heard in empty.wav" and not (tmp_path / "a.wav").exists()


@pytest.mark.real_model
def test_say_writes_a_wav_file(tmp_path: Path, real_store: Any, hear_back: Any) -> None:
    from tests.skills.voice.helpers import read_wav

    out = tmp_path / "hello.wav"
    p = run(
        ["say", "Good morning. The meeting moved to Friday.", "--out", str(out)], tmp_path, real_store.root
    )
    assert p.returncode == 0, p.stderr
    from skills.speech.metrics import words

    heard = words(hear_back(read_wav(out)))
    assert {"morning", "meeting", "friday"} <= set(heard), heard


def test_unknown_voice_names_the_voices(tmp_path: Path, real_store: Any) -> None:
    line = one_line_error(
        run(
            ["say", "Hello.", "--voice", "nobody", "--out", str(tmp_path / "x.wav")],
            tmp_path,
            real_store.root,
        )
    )
    assert line == "error: unknown voice 'nobody'"
