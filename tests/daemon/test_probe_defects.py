"""Defects a probe of the daemon found, each checked against a real daemon (fake text engine where
no model output matters): embeddings model names, trailing newlines in names, /openapi.json on TCP,
libretranslatepy's GET /languages, half-sent requests and long compressed audio."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from assistant.daemon.apps import check_name
from assistant.services import Services
from runtime.config import Config
from runtime.errors import InvalidName
from tests.daemon.helpers import Daemon, start_daemon, stop_daemon


@pytest.fixture(scope="module")
def strict_daemon(
    tmp_path_factory: pytest.TempPathFactory, config: Config, real_runtime: Any
) -> Iterator[Daemon]:
    """A daemon with a 0.5 s header timeout and a 60 s audio cap (no model is loaded by these tests)."""
    root = tmp_path_factory.mktemp("strict")
    services = Services(Config.from_env({"ASSISTANT_HOME": str(root)}), runtime=real_runtime)
    d = start_daemon(root, services, header_timeout=0.5, max_audio_seconds=60.0)
    yield d
    stop_daemon(d)


# -- /v1/embeddings refuses models that do not embed -------------------------------------------------
def test_embeddings_refuse_a_chat_model_naming_the_field(fuzz_daemon: Daemon) -> None:
    with fuzz_daemon.tcp() as c:
        r = c.post("/v1/embeddings", json={"model": "smollm2-135m", "input": "a cat"})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["field"] == "model" and "not an embedding model" in err["message"]
        r = c.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "a cat"})
        assert r.status_code == 404 and r.json()["error"]["field"] == "model"


# -- names and model ids with a trailing newline ---------------------------------------------------
def test_trailing_newline_is_not_a_valid_name(fuzz_daemon: Daemon) -> None:
    with pytest.raises(InvalidName):
        check_name("mail\n")
    with fuzz_daemon.tcp() as c:
        r = c.post(
            "/v1/chat/completions",
            json={
                "model": "smollm2-135m\n",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 1,
            },
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid_name" and r.json()["error"]["field"] == "model"


# -- /openapi.json: like /health, open on the Unix socket, token on TCP -----------------------------
def test_openapi_needs_a_token_on_tcp_only(fuzz_daemon: Daemon) -> None:
    with fuzz_daemon.tcp(token=None) as anon:
        r = anon.get("/openapi.json")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    with fuzz_daemon.tcp("chatter") as app:
        assert "/v1/chat/completions" in app.get("/openapi.json").json()["paths"]
    with fuzz_daemon.unix(token=None) as local:
        assert "/health" in local.get("/openapi.json").json()["paths"]


# -- libretranslatepy sends api_key in a GET body --------------------------------------------------
def test_libretranslatepy_languages_with_api_key(strict_daemon: Daemon) -> None:
    from libretranslatepy import LibreTranslateAPI

    lt = LibreTranslateAPI(f"{strict_daemon.url}/", api_key=strict_daemon.tokens["translator"])
    langs = {x["code"]: x for x in lt.languages()}
    assert "pt" in langs["en"]["targets"]
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:
        LibreTranslateAPI(f"{strict_daemon.url}/", api_key="ast_not-a-real-token").languages()
    assert err.value.code == 401


# -- a header-read timeout for half-sent requests --------------------------------------------------
def test_half_sent_request_is_closed_after_the_header_timeout(strict_daemon: Daemon) -> None:
    with socket.create_connection(("127.0.0.1", strict_daemon.port), timeout=10) as s:
        s.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{strict_daemon.port}\r\nX-Slow: ".encode())
        t0 = time.monotonic()
        data = b""
        while chunk := s.recv(4096):  # "" once the server closes
            data += chunk
        waited = time.monotonic() - t0
    assert data.startswith(b"HTTP/1.1 408 ") and b"header_timeout" in data
    assert waited < 8  # closed by the 0.5 s deadline, not by the client's 10 s socket timeout
    # a connection that sends nothing at all is closed too, and whole requests still pass
    with socket.create_connection(("127.0.0.1", strict_daemon.port), timeout=10) as s:
        assert s.recv(4096).startswith(b"HTTP/1.1 408 ")
    with strict_daemon.tcp() as c:
        assert c.get("/health").status_code == 200
        time.sleep(1.0)  # an idle keep-alive connection is not a half-sent request
        assert c.get("/health").status_code == 200


# -- compressed audio is capped by its decoded length ----------------------------------------------
def _silence(path: Path, seconds: int) -> bytes:
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-c", "1", str(path), "trim", "0", str(seconds)],
        check=True,
        capture_output=True,
    )
    return path.read_bytes()


@pytest.mark.parametrize("ext", ["ogg", "flac"])
def test_long_compressed_audio_is_refused_before_decoding(
    strict_daemon: Daemon, tmp_path: Path, ext: str
) -> None:
    data = _silence(tmp_path / f"long.{ext}", 20 * 60)  # 20 minutes of silence: a few hundred kB
    assert len(data) < strict_daemon.settings.max_body_bytes
    with strict_daemon.tcp() as c:
        t0 = time.perf_counter()
        r = c.post(
            "/v1/audio/transcriptions", files={"file": (f"long.{ext}", data)}, data={"model": "whisper-1"}
        )
        took = time.perf_counter() - t0
        assert r.status_code == 413, r.text
        err = r.json()["error"]
        assert (
            err["field"] == "file"
            and "20.0 minutes" in err["message"]
            and "at most 1 minutes" in err["message"]
        )
        assert took < 10  # from the header: 20 minutes are never decoded
        short = _silence(tmp_path / f"short.{ext}", 2)  # under the cap: silence, so no text and no Whisper
        r = c.post(
            "/v1/audio/transcriptions", files={"file": (f"short.{ext}", short)}, data={"model": "whisper-1"}
        )
        assert r.status_code == 200 and r.json()["text"] == ""


def test_audio_whose_header_lies_stops_decoding_at_the_cap(strict_daemon: Daemon, tmp_path: Path) -> None:
    # a FLAC of 90 s whose STREAMINFO claims 1 s: the header check passes, decoding stops at the cap
    data = bytearray(_silence(tmp_path / "long.flac", 90))
    assert data[:4] == b"fLaC"
    field = int.from_bytes(data[18:26], "big")  # STREAMINFO: total samples in the low 36 bits
    data[18:26] = ((field & ~((1 << 36) - 1)) | 16000).to_bytes(8, "big")
    with strict_daemon.tcp() as c:
        r = c.post(
            "/v1/audio/transcriptions", files={"file": ("lie.flac", bytes(data))}, data={"model": "whisper-1"}
        )
    assert r.status_code == 413, r.text
    err = r.json()["error"]
    assert err["field"] == "file" and "longer than the limit" in err["message"]
