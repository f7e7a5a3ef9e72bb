"""uvicorn's HTTP/1.1 protocol with a header-read timeout: a connection that opens, or starts a new
request, and does not finish sending its request line and headers within `header_timeout` seconds
gets 408 and is closed. uvicorn has only a keep-alive timeout, which starts after a response, so a
half-sent request would otherwise hold a connection (and a file descriptor) forever.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

_BODY = json.dumps(
    {
        "error": {
            "code": "header_timeout",
            "message": "the request line and headers did not arrive in time",
            "fix": "send the whole request head at once",
        }
    }
).encode()
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


class _HeaderDeadline:
    """The timer shared by both protocol variants: armed while a request's headers are incomplete."""

    header_timeout: float = 10.0
    _deadline: asyncio.TimerHandle | None = None
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_timed_out(self) -> None:
        self._deadline = None
        current: object = self.transport.get_protocol()  # a mixin: mypy cannot see self is a protocol
        if self.transport.is_closing() or current is not self:
            return  # closed, or upgraded to a WebSocket: not ours to time out any more
        self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def protocol_class(header_timeout: float) -> type[asyncio.Protocol]:
    """Return the HTTP protocol class uvicorn's "auto" would pick, with the header-read timeout."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return _h11_class(header_timeout)
    return _httptools_class(header_timeout)


def _h11_class(header_timeout: float) -> type[asyncio.Protocol]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class H11WithHeaderTimeout(_HeaderDeadline, H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._arm()  # the first bytes of a new request: its headers are now due
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()  # headers complete (request, upgrade or error)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    H11WithHeaderTimeout.header_timeout = header_timeout
    return H11WithHeaderTimeout


def _httptools_class(header_timeout: float) -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsWithHeaderTimeout(_HeaderDeadline, HttpToolsProtocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            self._arm()
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    HttpToolsWithHeaderTimeout.header_timeout = header_timeout
    return HttpToolsWithHeaderTimeout
