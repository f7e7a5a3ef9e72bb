"""Every refusal, probed with httpx over real sockets: statuses and JSON bodies."""

from __future__ import annotations

import os
import stat

import httpx
import pytest

from runtime.config import Config

from tests.daemon.helpers import SMOL, Daemon

CHAT = {"model": SMOL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}


def _err(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["message"] and body["code"]
    if code:
        assert body["code"] == code
    return body


def test_socket_is_private(daemon: Daemon) -> None:
    assert stat.S_IMODE(os.stat(daemon.socket).st_mode) == 0o600


def test_health_open_on_unix_only(daemon: Daemon) -> None:
    with daemon.unix(token=None) as c:
        assert c.get("/health").json()["status"] == "ok"
    with daemon.tcp(token=None) as c:
        _err(c.get("/health"), 401, "unauthorized")
    with daemon.tcp(token="translator") as c:  # any registered app may ask for health
        assert c.get("/health").status_code == 200


@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_no_token_wrong_scope_revoked(daemon: Daemon, via: str) -> None:
    make = daemon.unix if via == "unix" else daemon.tcp
    with make(token=None) as c:
        r = c.post("/v1/chat/completions", json=CHAT)
        _err(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
        _err(c.post("/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer ast_made_up"}), 401)
        _err(c.post("/v1/chat/completions", json=CHAT, headers={"Authorization": "Basic abc"}), 401)
    with make(token="translator") as c:
        body = _err(c.post("/v1/chat/completions", json=CHAT), 403, "forbidden")
        assert "chat" in body["message"]
        _err(c.get("/metrics"), 403)
    with make(token="gone") as c:
        assert "revoked" in _err(c.post("/v1/chat/completions", json=CHAT), 401)["message"]


def test_revoke_takes_effect_at_once(daemon: Daemon) -> None:
    token = daemon.registry.add("shortlived", "chat")
    with daemon.unix(token=None, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/v1/models").status_code == 200
        daemon.registry.revoke("shortlived")
        _err(c.get("/v1/models"), 401)


def test_host_header_must_be_loopback(daemon: Daemon) -> None:
    with daemon.tcp() as c:
        body = _err(c.get("/health", headers={"Host": "attacker.example"}), 403, "forbidden")
        assert "Host" in body["message"]
        _err(c.get("/health", headers={"Host": f"attacker.example:{daemon.port}"}), 403)
        _err(c.get("/health", headers={"Host": "127.0.0.1:1"}), 403)  # rebinding to another port
        for host in (f"localhost:{daemon.port}", f"127.0.0.1:{daemon.port}"):
            assert c.get("/health", headers={"Host": host}).status_code == 200


def test_browser_origin_refused_unless_allowed(daemon: Daemon) -> None:
    with daemon.tcp() as c:
        body = _err(
            c.post("/v1/chat/completions", json=CHAT, headers={"Origin": "https://evil.example"}), 403
        )
        assert "Origin" in body["message"] and "ASSISTANT_ALLOWED_ORIGINS" in body["fix"]
        _err(c.options("/v1/chat/completions", headers={"Origin": "http://localhost:3000"}), 403)


def test_allowed_origin_gets_cors(tmp_path, real_store) -> None:  # type: ignore[no-untyped-def]
    from assistant.services import Services
    from tests.daemon.helpers import start_daemon, stop_daemon

    services = Services(Config.from_env({"ASSISTANT_HOME": str(tmp_path)}))
    d = start_daemon(tmp_path, services, allowed_origins=("http://localhost:3000",))
    try:
        with d.tcp() as c:
            pre = c.options(
                "/health", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}
            )
            assert pre.status_code == 204
            assert pre.headers["access-control-allow-origin"] == "http://localhost:3000"
            r = c.get("/health", headers={"Origin": "http://localhost:3000"})
            assert (
                r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:3000"
            )
            _err(c.get("/health", headers={"Origin": "http://localhost:3001"}), 403)
    finally:
        stop_daemon(d)


def test_oversized_body_is_413(daemon: Daemon) -> None:
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 70_000}]}
    with daemon.unix() as c:
        assert "limit" in _err(c.post("/v1/chat/completions", json=big), 413, "too_large")["message"]

        def chunks():  # no Content-Length: counted as it streams in
            for _ in range(80):
                yield b"x" * 1024

        _err(
            c.post("/v1/chat/completions", content=chunks(), headers={"Content-Type": "application/json"}),
            413,
        )


def test_oversized_body_sent_at_once_is_413_not_a_hang(daemon: Daemon) -> None:
    """A chunked body over the limit whose last chunk arrives with the rest: the daemon must answer
    at once, not wait to drain more that will never come (CI caught this hanging for 120 s)."""
    import socket as so

    token = daemon.tokens["admin"]
    data = b"x" * 80 * 1024
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    body = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"
    with so.socket(so.AF_UNIX, so.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(daemon.socket))
        s.sendall(head + body)
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_malformed_json_is_400(daemon: Daemon) -> None:
    with daemon.unix() as c:
        body = _err(
            c.post(
                "/v1/chat/completions", content=b'{"model": ', headers={"Content-Type": "application/json"}
            ),
            400,
            "malformed_json",
        )
        assert body["field"] == "body"
        _err(c.post("/v1/chat/completions", content=b"{bad"), 400, "malformed_json")


def test_invalid_fields_are_named(daemon: Daemon) -> None:
    with daemon.unix() as c:
        assert (
            _err(c.post("/v1/chat/completions", json={**CHAT, "temperature": 9}), 422)["field"]
            == "temperature"
        )
        assert _err(c.post("/v1/chat/completions", json={"model": SMOL}), 422)["field"] == "messages"
        assert _err(c.post("/v1/chat/completions", json={**CHAT, "n": 3}), 422)["field"] == "n"
        bad_role = {**CHAT, "messages": [{"role": "wizard", "content": "x"}]}
        assert _err(c.post("/v1/chat/completions", json=bad_role), 422)["field"].startswith("messages.0.role")
        fmt = {**CHAT, "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}
        assert (
            _err(c.post("/v1/chat/completions", json=fmt), 400)["field"]
            == "response_format.json_schema.schema"
        )


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "a/b", "/etc/passwd", "%2e%2e%2fx", "x" * 300])
def test_path_traversal_model_name(daemon: Daemon, name: str) -> None:
    with daemon.unix() as c:
        r = c.post("/v1/chat/completions", json={**CHAT, "model": name})
        assert r.status_code in (400, 422), r.text
        assert r.json()["error"]["field"] == "model"


def test_unknown_path_and_method(daemon: Daemon) -> None:
    with daemon.unix() as c:
        _err(c.get("/v1/nothing"), 404, "not_found")
        _err(c.get("/v1/chat/completions"), 405, "method_not_allowed")


def test_refusals_are_counted_in_metrics(daemon: Daemon) -> None:
    with daemon.unix(token=None) as anon, daemon.unix() as admin:
        anon.post("/v1/chat/completions", json=CHAT)
        text = admin.get("/metrics").text
    assert 'assistant_refused_total{reason="unauthorized"}' in text
    assert "# TYPE assistant_request_seconds histogram" in text


def test_openapi_document_is_served(daemon: Daemon) -> None:
    with daemon.unix(token=None) as c:
        doc = c.get("/openapi.json").json()
    assert {
        "/health",
        "/metrics",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
    } <= set(doc["paths"])
    assert doc["paths"]["/v1/chat/completions"]["post"]["x-scope"] == "chat"
