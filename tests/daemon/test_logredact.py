"""The log redactor on the shapes tokens take in log lines (the daemon-level check is in test_lifecycle)."""

from __future__ import annotations

import logging

import pytest

from assistant.daemon.logredact import install, redact

TOKEN = "ast_" + "Ab3_-x" * 7


@pytest.mark.parametrize(
    "line",
    [
        f"< authorization: Bearer {TOKEN}",
        f"Authorization: {TOKEN}",
        f"[(b'authorization', b'Bearer {TOKEN}'), (b'host', b'127.0.0.1')]",
        f"{{'Authorization': 'Bearer {TOKEN}'}}",
        f'127.0.0.1:5 - "WebSocket /v1/audio/captions?language=en&api_key={TOKEN}" 403',
        f'{{"q": "hi", "api_key": "{TOKEN}"}}',
        f"q=hi&api_key={TOKEN}&target=pt",
        f"token {TOKEN} was revoked",
        "authorization: Bearer not-one-of-ours-but-still-secret",
    ],
)
def test_tokens_are_redacted(line: str) -> None:
    out = redact(line)
    assert TOKEN not in out and "still-secret" not in out and "[REDACTED]" in out


def test_other_text_is_left_alone() -> None:
    line = "GET /v1/models HTTP/1.1 200; basic auth is not used; host: 127.0.0.1"
    assert redact(line) == line


def test_records_are_redacted_at_creation(caplog: pytest.LogCaptureFixture) -> None:
    install()
    with caplog.at_level(logging.DEBUG, logger="websockets.server"):
        logging.getLogger("websockets.server").debug("< %s: %s", "authorization", f"Bearer {TOKEN}")
    assert TOKEN not in caplog.text and "[REDACTED]" in caplog.text
