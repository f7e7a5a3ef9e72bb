"""Handler for /mcp: hands the request, as the authenticated app, to the MCP SDK's transport."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from assistant.api.mcp import JsonRpc
from assistant.daemon.apps import AppIdentity
from assistant.daemon.handlers import Handler, HandlerContext


class _McpResponse(Response):
    """Runs the MCP transport as the response, replaying the body FastAPI has already read."""

    def __init__(self, ctx: HandlerContext, app: AppIdentity, body: bytes) -> None:
        super().__init__()
        self.ctx, self.app, self.body_bytes = ctx, app, body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from assistant.mcp.server import serve_http

        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": self.body_bytes, "more_body": False}
            return dict(await receive())

        await serve_http(self.ctx, self.app, scope, replay, send)


async def mcp(ctx: HandlerContext, body: JsonRpc, app: AppIdentity, request: Request) -> Any:
    return _McpResponse(ctx, app, await request.body())


def handlers() -> dict[str, Handler]:
    return {"mcp": mcp}
