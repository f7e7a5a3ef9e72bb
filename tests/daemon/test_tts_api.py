"""/v1/audio/speech through the official openai client and the /v1/voice WebSocket through a real
`websockets` client, on a real daemon with the real Piper voice, Whisper and chat model."""

from __future__ import annotations

import io
import json
import shutil
import wave
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from skills.speech.metrics import words
from tests.daemon.helpers import Daemon
from tests.skills.voice.helpers import speak

pytestmark = pytest.mark.real_model
TEXT = "Hello there. The library opens at nine tomorrow. Bring your card."


def _oai(d: Daemon, token: str = "speaker") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{d.url}/v1", api_key=d.tokens[token], max_retries=0, timeout=120)


def _hear(d: Daemon, audio: np.ndarray) -> str:
    from runtime.engines.whisper import SttOptions

    opts = SttOptions(language="en", window="padded", beam_size=5, word_timestamps=False)
    return str(d.services.skill("speech").transcribe(audio, "whisper-tiny.en", opts).text)


def test_openai_client_streams_wav_sentence_by_sentence(tts_daemon: Daemon) -> None:
    chunks: list[bytes] = []
    with _oai(tts_daemon).audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="wav"
    ) as response:
        assert response.headers["content-type"].startswith("audio/wav")
        chunks = list(response.iter_bytes())
    data = b"".join(chunks)
    assert len(chunks) >= 2 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    with wave.open(io.BytesIO(data[:44] + b"")) as w:  # the header alone: streamed, open length
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (22050, 1, 2)
    pcm = np.frombuffer(data[44:], dtype="<i2").astype(np.float32) / 32768.0
    from skills.voice.sinks import resample

    heard = _hear(tts_daemon, resample(pcm, 22050, 16000))
    assert {"library", "nine", "card"} <= set(words(heard)), heard


def test_pcm_is_24khz_and_speed_shortens_it(tts_daemon: Daemon) -> None:
    oai = _oai(tts_daemon)
    # Piper draws each phoneme's length with noise: three sentences, so one short one cannot swing it
    normal = oai.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="pcm")
    fast = oai.audio.speech.create(
        model="piper", voice="piper-joe-medium", input=TEXT, response_format="pcm", speed=2.0
    )
    n, f = len(normal.content) / 2 / 24000, len(fast.content) / 2 / 24000
    assert 2 < n < 10 and 0.3 * n < f < 0.7 * n, (n, f)


def test_control_characters_are_spoken_as_spaces(tts_daemon: Daemon) -> None:
    # found by schemathesis: {"input": "0\u0000"} reached espeak-ng's C API ("embedded null character")
    oai = _oai(tts_daemon)
    for text in ("0\u0000", "Good\u0000 morning\u0007 to\u001b you."):
        pcm = oai.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="pcm")
        assert len(pcm.content) > 2 * 2400, text  # more than 0.05 s of audio


def test_bad_requests_name_the_field(tts_daemon: Daemon) -> None:
    oai = _oai(tts_daemon)
    cases = [
        ({"voice": "nobody"}, "voice"),
        ({"response_format": "aiff"}, "response_format"),
        ({"model": "whisper-1"}, "model"),
        ({"input": "  ...  "}, "input"),
    ]
    for change, field in cases:
        args: dict[str, Any] = {"model": "tts-1", "voice": "alloy", "input": "Hello.", **change}
        with pytest.raises(openai.BadRequestError) as err:
            oai.audio.speech.create(**args)
        body = err.value.response.json()["error"]
        assert body["field"] == field and body["fix"], body
    with pytest.raises(openai.PermissionDeniedError):
        _oai(tts_daemon, "chatter").audio.speech.create(model="tts-1", voice="alloy", input="Hello.")


def test_a_corrupt_voice_file_is_a_clear_error(tts_daemon: Daemon, tmp_path: Path) -> None:
    store = tts_daemon.services.runtime.store
    good = store.ensure("piper-joe-medium").path
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07" + bytes(range(256)) * 64)  # looks like protobuf, is not a model
    shutil.copy(str(good) + ".json", tmp_path / "broken.onnx.json")
    rec = store.add(bad, "broken-voice")
    assert rec.roles == ("tts",) and (rec.path.parent / "model.onnx.json").is_file()
    try:
        with pytest.raises(openai.InternalServerError) as err:
            _oai(tts_daemon).audio.speech.create(model="tts-1", voice="broken-voice", input="Hello.")
        body = err.value.response.json()["error"]
        assert body["field"] == "voice" and "not a valid ONNX voice" in body["message"], body
        assert "assistant models verify broken-voice" in body["fix"]
    finally:
        store.remove("broken-voice")


def test_voice_websocket_answers_a_spoken_question(tts_daemon: Daemon, tmp_path: Path) -> None:
    audio = speak("What is the capital of France?", tmp_path / "q.wav")
    pcm = (np.concatenate([audio, np.zeros(16000, np.float32)]) * 32767).astype("<i2").tobytes()
    headers = {"Authorization": f"Bearer {tts_daemon.tokens['talker']}"}
    msgs: list[dict[str, Any]] = []
    audio_bytes = 0
    with connect(
        f"ws://127.0.0.1:{tts_daemon.port}/v1/voice", additional_headers=headers, max_size=None
    ) as ws:
        ready = json.loads(ws.recv(timeout=120))
        assert ready["type"] == "ready" and ready["sample_rate"] == 22050
        for i in range(0, len(pcm), 3200):
            ws.send(pcm[i : i + 3200])
        ws.send("end")
        while True:
            frame = ws.recv(timeout=180)
            if isinstance(frame, bytes):
                audio_bytes += len(frame)
                continue
            msgs.append(json.loads(frame))
            if msgs[-1]["type"] in ("done", "error"):
                break
    kinds = [m["type"] for m in msgs]
    assert kinds[-1] == "done", msgs[-1]
    assert "capital" in words(next(m["text"] for m in msgs if m["type"] == "transcript"))
    assert "audio" in kinds and audio_bytes > 22050  # over half a second of answer
    done = next(m for m in msgs if m["type"] == "turn_done")
    assert done["stats"]["voice_to_voice"] > 0 and done["text"]


def test_voice_websocket_needs_all_three_scopes(tts_daemon: Daemon) -> None:
    url = f"ws://127.0.0.1:{tts_daemon.port}/v1/voice"
    for token, status in ((None, 401), ("speaker", 403), ("chatter", 403)):
        headers = {"Authorization": f"Bearer {tts_daemon.tokens[token]}"} if token else {}
        with pytest.raises(InvalidStatus) as err:
            connect(url, additional_headers=headers, open_timeout=10)
        assert err.value.response.status_code == status
    with pytest.raises(InvalidStatus) as err:
        connect(
            f"{url}?voice=nobody",
            additional_headers={"Authorization": f"Bearer {tts_daemon.tokens['talker']}"},
        )
    assert (
        err.value.response.status_code == 400
        and json.loads(err.value.response.body)["error"]["field"] == "voice"
    )


def test_a_voice_id_is_found_whatever_its_case(tts_daemon: Daemon) -> None:
    # `models add en_US-amy-low.onnx` installs en_us-amy-low; apps use the file's spelling
    data = (
        _oai(tts_daemon)
        .audio.speech.create(
            model="tts-1", voice="PIPER-Joe-Medium", input="Hi there.", response_format="pcm"
        )
        .read()
    )
    assert len(data) > 24000 * 2 * 0.3  # pcm is 24 kHz 16-bit: at least 0.3 s of speech
