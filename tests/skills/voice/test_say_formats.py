"""`assistant say --out FILE` writes the format its extension names (mp3 here, as users run it), and
an unknown extension is a one-line error naming the ones it writes; the encoder streams its bytes
sentence by sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skills.voice.encode import FORMATS, Encoder
from tests.skills.voice.test_cli import one_line_error, run


@pytest.mark.real_model
def test_say_writes_an_mp3_file(tmp_path: Path, real_store: Any, hear_back: Any) -> None:
    from skills.speech.metrics import words
    from tests.skills.voice.helpers import read_wav

    out = tmp_path / "answer.mp3"
    p = run(
        ["say", "Good morning. The meeting moved to Friday.", "--out", str(out)], tmp_path, real_store.root
    )
    assert p.returncode == 0, p.stderr
    data = out.read_bytes()
    assert data[:2] in (b"\xff\xf3", b"\xff\xf2", b"\xff\xfb"), data[:4]  # an MPEG audio frame, no RIFF
    assert not (tmp_path / "answer.mp3.part").exists()
    heard = words(hear_back(read_wav(out)))  # decode_audio: ffmpeg reads it by its content
    assert {"morning", "meeting", "friday"} <= set(heard), heard


@pytest.mark.real_model
def test_voice_answers_a_recording_into_an_opus_file(tmp_path: Path, real_store: Any) -> None:
    from tests.skills.voice.helpers import read_wav, speak

    question = tmp_path / "question.wav"
    speak("What is the capital of France?", question)
    out = tmp_path / "answer.opus"
    p = run(["voice", "--file", str(question), "--out", str(out)], tmp_path, real_store.root)
    assert p.returncode == 0, p.stderr
    assert "you>" in p.stdout and "capital" in p.stdout.lower(), p.stdout
    assert out.read_bytes()[:4] == b"OggS"  # Ogg Opus, as the extension says
    assert len(read_wav(out)) > 16000 * 0.5  # over half a second of answer
    bad = run(
        ["voice", "--file", str(question), "--out", str(tmp_path / "a.aiff")], tmp_path, real_store.root
    )
    assert "unknown audio file extension .aiff" in one_line_error(bad)


def test_an_unknown_extension_names_the_formats(tmp_path: Path, real_store: Any) -> None:
    p = run(["say", "Hello.", "--out", str(tmp_path / "x.aiff")], tmp_path, real_store.root)
    assert "unknown audio file extension .aiff" in one_line_error(p)
    assert ".mp3" in p.stderr and ".flac" in p.stderr and not (tmp_path / "x.aiff").exists()


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_encoder_gives_bytes_after_each_sentence(fmt: str) -> None:
    tone = (0.3 * np.sin(np.arange(22050) * 2 * np.pi * 440 / 22050)).astype(np.float32)
    encoder = Encoder(fmt, 22050)
    pieces = [encoder.write(tone), encoder.write(tone)]
    pieces.append(encoder.finish())
    assert all(pieces[:2]), [len(p) for p in pieces]  # the first second is out before the second one
    assert encoder.finish() == b""  # finished once
