"""Who may call what: per-app tokens and scopes, Host and Origin checks, and the body limit.

The Unix socket is reachable only by the user (mode 0600); there, /health needs no token. On TCP
every request needs a token, the Host header must name the loopback listener itself (defeats DNS
rebinding), and any browser Origin is refused unless the user allowed it in
ASSISTANT_ALLOWED_ORIGINS.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, MutableMapping

from fastapi import Request

from assistant.daemon.apps import AppIdentity, AppRegistry
from assistant.daemon.errors import ApiRefusal, Forbidden, TooLarge, Unauthorized, body_of

Scope = MutableMapping[str, Any]  # an ASGI scope, as Starlette types it
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOCAL = AppIdentity("local", frozenset())
"""The caller of an open endpoint on the Unix socket, where no token is asked for."""
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def is_unix(scope: Scope) -> bool:
    """Whether the request came over the Unix socket: uvicorn gives (path, None) or None as its
    server address there, and (host, port) for every TCP connection."""
    server = scope.get("server")
    return server is None or server[1] is None


# LibreTranslate clients send their key as `api_key` (query, form or JSON body, on any method),
# not as a header
LIBRETRANSLATE_PATHS = frozenset({"/translate", "/languages", "/detect"})


async def _libretranslate_key(request: Request) -> str:
    if request.url.path not in LIBRETRANSLATE_PATHS:
        return ""
    key = request.query_params.get("api_key", "")
    if key:
        return key
    # LibreTranslate (Flask) reads api_key from the form whatever the method, and libretranslatepy's
    # languages() sends it as a GET with a urlencoded body: read the body on GET too
    from assistant.api.translate import form_fields

    try:
        fields = form_fields(await request.body())  # starlette caches the body for the handler
    except ValueError:
        return ""
    value = fields.get("api_key", "")
    return value if isinstance(value, str) else ""


OLLAMA_TOKENLESS_APP = "ollama-tokenless"
"""Opt-in for Ollama-only apps that cannot send a header: while an app of this name is registered
(`assistant apps add ollama-tokenless --scopes chat`), header-less requests to /api/* on this
machine act as that app, with only its scopes; Host and Origin checks still apply (Guard)."""


def _tokenless_ollama(request: Request, registry: AppRegistry) -> AppIdentity | None:
    if not request.url.path.startswith("/api/"):
        return None
    peer = request.client.host if request.client else ""
    if not is_unix(request.scope) and peer not in ("127.0.0.1", "::1"):
        return None  # loopback only, whatever address the daemon listens on
    rec = next((r for r in registry.list() if r.name == OLLAMA_TOKENLESS_APP), None)
    # never admin: a page or process that reaches it without a token must not manage the daemon
    return AppIdentity(rec.name, frozenset(rec.scopes) - {"admin"}) if rec else None


def require_scope(scope: str, open_on_unix: bool = False) -> Callable[[Request], Awaitable[AppIdentity]]:
    """Return a FastAPI dependency that authenticates the caller and checks it holds scope."""

    async def dependency(request: Request) -> AppIdentity:
        if open_on_unix and is_unix(request.scope):
            return LOCAL
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        registry: AppRegistry = request.app.state.registry
        tokenless = _tokenless_ollama(request, registry) if not header else None
        if not header and tokenless is None:
            token = await _libretranslate_key(request)
            kind = "bearer" if token else ""
            if not token:
                raise Unauthorized(
                    "no token given",
                    "send `Authorization: Bearer <token>`; "
                    "create one with `assistant apps add NAME --scopes ...`",
                )
        if tokenless is None and (kind.lower() != "bearer" or not token.strip()):
            raise Unauthorized(
                "the Authorization header is not `Bearer <token>`", "send `Authorization: Bearer <token>`"
            )
        app = tokenless or registry.identify(token.strip())
        if app is None:
            raise Unauthorized(
                "the token is unknown or was revoked",
                "create a new one with `assistant apps add NAME --scopes ...`",
            )
        if not app.allows(scope):
            raise Forbidden(
                f"app {app.name} lacks the {scope!r} scope",
                f"re-register it with that scope: `assistant apps revoke {app.name}` then "
                f"`assistant apps add {app.name} --scopes {','.join(sorted(app.scopes | {scope}))}`",
            )
        request.state.app = app
        return app

    dependency.__name__ = f"require_scope_{scope.replace(':', '_') or 'any'}"
    return dependency


DRAIN_BYTES = 16 * 1024 * 1024  # a refused body up to this size is read to its end before the answer


class Guard:
    """Pure ASGI middleware: Host/Origin checks on TCP, CORS for allowed origins, body size limit.

    Pure ASGI (not BaseHTTPMiddleware) so streaming responses and disconnects pass straight through.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_origins: tuple[str, ...],
        max_body_bytes: int,
        on_refusal: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.app = app
        self.allowed_origins = frozenset(o.rstrip("/") for o in allowed_origins)
        self.max_body = max_body_bytes
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        cors: list[tuple[bytes, bytes]] = []
        if not is_unix(scope):
            refusal = self._check_tcp(scope, headers.get("host", ""), origin)
            if refusal is not None:
                await self._refuse(send, refusal)
                return
            if origin:
                cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
                if scope["method"] == "OPTIONS":
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 204,
                            "headers": cors
                            + [
                                (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                                (b"access-control-allow-headers", b"authorization, content-type"),
                                (b"access-control-max-age", b"600"),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": b""})
                    return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            if length.isdigit():
                await self._drain(receive, int(length))
            await self._refuse(
                send,
                TooLarge(
                    f"request body of {length} bytes is over the {self.max_body}-byte limit",
                    "send a smaller body",
                ),
            )
            return
        # a GET may carry a body too (libretranslatepy's languages() does): cap it the same way
        if (
            scope["method"] in ("POST", "PUT", "PATCH")
            or "transfer-encoding" in headers
            or length not in (None, "0")
        ):
            body = await self._read_body(receive)
            if body is None:
                await self._refuse(
                    send,
                    TooLarge(f"request body is over the {self.max_body}-byte limit", "send a smaller body"),
                )
                return
            receive = _replay(body, receive)
        if cors:
            send = _with_headers(send, cors)
        await self.app(scope, receive, send)

    def _check_tcp(self, scope: Scope, host: str, origin: str | None) -> ApiRefusal | None:
        port = scope["server"][1] if scope.get("server") else None
        allowed_hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
        if host.lower() not in allowed_hosts:
            return Forbidden(
                f"Host {host!r} is not this daemon's loopback address",
                f"connect to http://127.0.0.1:{port}/ (other Host names are refused "
                "to stop DNS-rebinding attacks)",
            )
        if origin is not None and origin.rstrip("/") not in self.allowed_origins:
            return Forbidden(
                f"browser Origin {origin!r} is not allowed",
                "add it to ASSISTANT_ALLOWED_ORIGINS (comma-separated) if you trust that page",
            )
        return None

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                # drain only when more is coming: waiting after the last chunk would wait forever
                # (uvicorn sends nothing more until the client hangs up), and the 413 would never go
                if message.get("more_body", False):
                    await self._drain(receive, DRAIN_BYTES)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _drain(self, receive: Receive, length: int) -> None:
        """Read and drop what the client is still sending (up to DRAIN_BYTES): closing the connection
        with unread data makes the kernel reset it, and the client loses the 413 it was sent."""
        if length > DRAIN_BYTES:
            return
        read = 0
        while read <= DRAIN_BYTES:
            message = await receive()
            read += len(message.get("body", b""))
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                return

    async def _refuse(self, send: Send, exc: ApiRefusal) -> None:
        self.on_refusal(exc.code)
        data = json.dumps(body_of(exc)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": exc.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


def _replay(body: bytes, receive: Receive) -> Receive:
    """Return a receive() that yields the buffered body once, then defers to the real one."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)

    return wrapped
