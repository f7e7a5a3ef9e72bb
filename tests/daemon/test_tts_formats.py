"""/v1/audio/speech in OpenAI's compressed formats (mp3, opus, aac, flac) through the official
openai client on a real daemon with the real Piper voice: each stream arrives in pieces, decodes
with ffmpeg (faster_whisper.decode_audio) and Whisper hears the text back."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from assistant.api import tts as W
from skills.speech.metrics import words
from skills.voice.encode import FORMATS
from tests.daemon.helpers import Daemon
from tests.daemon.test_tts_api import TEXT, _hear, _oai

pytestmark = pytest.mark.real_model
MAGIC = {"mp3": b"\xff", "opus": b"OggS", "aac": b"\xff", "flac": b"fLaC"}


def test_the_wire_formats_are_the_encoders() -> None:
    assert W.FORMATS == ("wav", "pcm", *FORMATS)
    assert all(W.CONTENT_TYPES[name] == f.content_type for name, f in FORMATS.items())


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_compressed_formats_stream_and_are_heard_back(tts_daemon: Daemon, tmp_path: Path, fmt: str) -> None:
    from faster_whisper import decode_audio

    with _oai(tts_daemon).audio.speech.with_streaming_response.create(
        model="tts-1",
        voice="alloy",
        input=TEXT,
        response_format=fmt,  # type: ignore[arg-type]  # all of OpenAI's names
    ) as response:
        assert response.headers["content-type"] == FORMATS[fmt].content_type
        chunks = list(response.iter_bytes())
    data = b"".join(chunks)
    assert len(chunks) >= 2, [len(c) for c in chunks]  # sentence by sentence, not all at the end
    assert data.startswith(MAGIC[fmt]), data[:8]
    path = tmp_path / f"speech.{fmt}"
    path.write_bytes(data)
    audio = decode_audio(str(path), sampling_rate=16000)
    assert 2.0 < len(audio) / 16000 < 12.0
    heard = _hear(tts_daemon, audio)
    assert {"library", "nine", "card"} <= set(words(heard)), heard


def test_an_unknown_format_names_the_field_and_the_formats(tts_daemon: Daemon) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        _oai(tts_daemon).audio.speech.create(
            model="tts-1",
            voice="alloy",
            input="Hello.",
            response_format="aiff",  # type: ignore[arg-type]
        )
    body = err.value.response.json()["error"]
    assert body["field"] == "response_format" and "mp3" in body["fix"] and "flac" in body["fix"], body


def test_without_a_format_the_reply_is_mp3_as_openai_sends(tts_daemon: Daemon, tmp_path: Path) -> None:
    # apps written for OpenAI save the reply as speech.mp3 without naming a format
    out = tmp_path / "speech.mp3"
    with _oai(tts_daemon).audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="Hello there."
    ) as response:
        assert response.headers["content-type"].startswith("audio/mpeg")
        response.stream_to_file(out)
    assert out.read_bytes()[:1] == b"\xff" and out.stat().st_size > 1000
