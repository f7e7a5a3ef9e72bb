"""What schemathesis (tests/daemon/test_schemathesis.py) does not send, sent to every operation of the
served OpenAPI document: bodies that are not JSON at all, JSON nested past any parser's depth,
bodies over the size limit (with and without a Content-Length), callers without a valid token, and
paths and methods off the table. Every answer must be a 4xx with the JSON error body, never a 5xx
or a dropped connection. schemathesis covers what the schema describes, with one valid token.
"""

from __future__ import annotations

import socket
from typing import Any, Iterator

import httpx
import pytest

from tests.daemon.helpers import Daemon

MAX_BODY = 64 * 1024  # the fuzz daemon's limit (conftest.py)
NOT_JSON = [
    b"{",
    b'{"model": ',
    b"[]",
    b"null",
    b"42",
    b'"text"',
    b"\xff\xfe\x00{",  # not UTF-8
    b'{"a": 1}{"b": 2}',
    b"\x00" * 64,
]
# Python's JSON reader takes NaN and Infinity (and 1e400 as inf): numeric fields must still refuse them.
NON_FINITE = [
    (
        "/v1/chat/completions",
        '{"messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
        "temperature",
    ),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "x"}], "top_p": Infinity}', "top_p"),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "x"}], "seed": 1e400}', "seed"),
    ("/v1/completions", '{"prompt": "x", "max_tokens": -Infinity}', "max_tokens"),
    ("/v1/skills/autocomplete", '{"prefix": "x", "budget_ms": NaN}', "budget_ms"),
    ("/v1/memory/search", '{"query": "x", "since": NaN}', "since"),
    ("/v1/memory/events", '{"kind": "note", "title": "x", "created": Infinity}', "created"),
    ("/v1/memory/forget", '{"until": NaN}', "until"),
]
DEEP = [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000]


def _refusal(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["message"] and err["code"], r.text
    return err


def _post_operations(d: Daemon) -> Iterator[str]:
    with d.unix() as c:
        doc = c.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        if "post" in ops and not path.startswith("/mcp"):  # MCP speaks JSON-RPC; its own tests
            yield path


@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_bodies_that_are_not_json_are_a_400_naming_the_body(fuzz_daemon: Daemon) -> None:
    paths = list(_post_operations(fuzz_daemon))
    assert len(paths) >= 15
    with fuzz_daemon.tcp() as c:
        for path in paths:
            for body in NOT_JSON:
                for ctype in ("application/json", "text/plain", None):
                    headers = {"Content-Type": ctype} if ctype else {}
                    r = c.post(path, content=body, headers=headers)
                    # a JSON scalar or array is valid JSON of the wrong shape: 422 naming the body;
                    # LibreTranslate's routes read a non-JSON body as a form: 422 naming a missing field
                    err = _refusal(r, 400, 422)
                    assert err.get("field"), (path, body, ctype, err)


@pytest.mark.filterwarnings("ignore:no OS keyring")
@pytest.mark.parametrize("path,body,field", NON_FINITE, ids=[f"{p}:{f}" for p, _, f in NON_FINITE])
def test_non_finite_numbers_are_refused_naming_the_field(
    fuzz_daemon: Daemon, path: str, body: str, field: str
) -> None:
    with fuzz_daemon.tcp() as c:
        r = c.post(path, content=body.encode(), headers={"Content-Type": "application/json"})
    assert _refusal(r, 400, 422)["field"] == field


@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_json_nested_past_any_depth_is_refused(fuzz_daemon: Daemon) -> None:
    with fuzz_daemon.tcp() as c:
        for path in ("/v1/chat/completions", "/v1/memory/events", "/translate"):
            for body in DEEP:
                r = c.post(path, content=body, headers={"Content-Type": "application/json"})
                _refusal(r, 400, 413, 422)


@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_bodies_over_the_limit_get_their_413(fuzz_daemon: Daemon) -> None:
    """The 413 reaches the client: the daemon reads what is still coming before it answers, so
    closing the connection never resets it first (schemathesis saw a reset, not a 413)."""
    big = b'{"q": "' + b"a" * (4 * MAX_BODY) + b'", "target": "pt"}'
    with fuzz_daemon.tcp() as c:
        for path in ("/translate", "/v1/memory/events", "/v1/chat/completions"):
            _refusal(c.post(path, content=big, headers={"Content-Type": "application/json"}), 413)

            def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
                for i in range(0, len(big), 8192):
                    yield big[i : i + 8192]

            r = c.post(path, content=chunks(), headers={"Content-Type": "application/json"})
            _refusal(r, 413)


@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_a_half_sent_body_over_the_limit_is_answered(fuzz_daemon: Daemon) -> None:
    """A client that declares a huge body and stops sending gets its 413 at once."""
    with socket.create_connection(("127.0.0.1", fuzz_daemon.port), timeout=10) as s:
        s.sendall(
            f"POST /translate HTTP/1.1\r\nHost: 127.0.0.1:{fuzz_daemon.port}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            b"Authorization: Bearer " + fuzz_daemon.tokens["admin"].encode() + b"\r\n"
            b"Content-Length: 999999999999\r\n\r\n{"
        )
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]


@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_every_operation_refuses_callers_without_a_valid_token(fuzz_daemon: Daemon) -> None:
    with fuzz_daemon.unix() as c:
        doc = c.get("/openapi.json").json()
    bad = [None, "gone", "Bearer", "Bearer ", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer \x7f"]
    with httpx.Client(base_url=fuzz_daemon.url, timeout=60) as c:
        for path, ops in doc["paths"].items():
            for method in ops:
                for auth in bad:
                    if auth == "gone":  # a revoked app's token
                        headers = {"Authorization": f"Bearer {fuzz_daemon.tokens['gone']}"}
                    else:
                        headers = {"Authorization": auth} if auth else {}
                    try:
                        r = c.request(method.upper(), path, headers=headers, content=b"{}")
                    except httpx.LocalProtocolError:
                        continue  # httpx itself refuses to send that header
                    if path.startswith("/api/") and auth is None:
                        _refusal(r, 401, 403, 404, 422)  # the opt-in tokenless Ollama app is not registered
                    else:
                        _refusal(r, 401)


@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_paths_and_methods_off_the_table(fuzz_daemon: Daemon) -> None:
    paths = ["/", "/v1", "/v1/../health", "/%2e%2e/etc", "/v1/models/x", "/metrics/", "/" + "a" * 3000]
    with fuzz_daemon.tcp() as c:
        for path in paths:
            for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
                r = c.request(method, path, content=b"{}")
                assert r.status_code < 500, (method, path, r.status_code)
                if r.status_code >= 400:
                    _refusal(r, r.status_code)
        for method in ("PUT", "DELETE", "PATCH"):
            _refusal(c.request(method, "/v1/chat/completions", content=b"{}"), 405)
