"""The MCP server (official SDK, low-level API) over the tool table, for one calling app.

`build(ctx, app)` returns a server whose tool and resource lists are what `app` may use; a call to
anything else is refused with the scope it lacks. Two transports share it:
- stdio (`assistant mcp`): the app is the one whose token is in ASSISTANT_TOKEN;
- Streamable HTTP at /mcp on the daemon, stateless, one server per request, for the app whose
  token authenticated that request (the daemon's usual token, Host and Origin checks apply).
"""

from __future__ import annotations

import json
from typing import Any

import anyio

from assistant.daemon.apps import AppIdentity
from assistant.daemon.handlers import HandlerContext
from assistant.mcp.table import BY_NAME, RESOURCES, TOOLS, dump
from runtime.errors import AssistantError

NAME = "assistant"


def build(ctx: HandlerContext, app: AppIdentity) -> Any:
    """Return an mcp.server.lowlevel.Server serving the table to `app`."""
    from mcp import types
    from mcp.server.lowlevel import Server
    from mcp.server.lowlevel.helper_types import ReadResourceContents
    from pydantic import AnyUrl

    server: Any = Server(
        NAME, version=ctx.version, instructions="On-device assistant: memory, translation, speech."
    )

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return [
            types.Tool(
                name=t.name,
                description=t.description,
                inputSchema=t.input.model_json_schema(mode="validation"),
                outputSchema=t.output.model_json_schema(mode="serialization"),
            )
            for t in TOOLS
            if app.allows(t.scope)
        ]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> Any:
        tool = BY_NAME.get(name)
        if tool is None:
            raise ValueError(f"no tool {name!r}; tools: {', '.join(BY_NAME)}")
        if not app.allows(tool.scope):
            raise PermissionError(
                f"app {app.name} lacks the {tool.scope!r} scope for {name}; "
                f"re-register it with `assistant apps add {app.name} --scopes ...,{tool.scope}`"
            )
        from pydantic import ValidationError

        try:
            body = tool.input.model_validate(arguments)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "arguments"
            raise ValueError(f"{where}: {first.get('msg', 'invalid')}") from None
        try:
            return dump(await tool.run(ctx, app, body))
        except AssistantError as exc:  # the same one-line problem and fix as the HTTP API gives
            field = f" (field {exc.field})" if exc.field else ""
            raise RuntimeError(f"{exc.code}{field}: {exc}") from None

    @server.list_resources()
    async def list_resources() -> list[types.Resource]:
        return [
            types.Resource(
                uri=AnyUrl(r.uri), name=r.name, description=r.description, mimeType="application/json"
            )
            for r in RESOURCES
            if app.allows(r.scope)
        ]

    @server.read_resource()
    async def read_resource(uri: AnyUrl) -> list[ReadResourceContents]:
        res = next((r for r in RESOURCES if r.uri == str(uri)), None)
        if res is None:
            raise ValueError(f"no resource {uri}")
        if not app.allows(res.scope):
            raise PermissionError(f"app {app.name} lacks the {res.scope!r} scope for {uri}")
        data = json.dumps(dump(await res.read(ctx, app)))
        return [ReadResourceContents(content=data, mime_type="application/json")]

    return server


async def serve_http(ctx: HandlerContext, app: AppIdentity, scope: Any, receive: Any, send: Any) -> None:
    """Answer one Streamable HTTP request (stateless, JSON responses) for `app`."""
    from mcp.server.streamable_http import StreamableHTTPServerTransport

    server = build(ctx, app)
    transport = StreamableHTTPServerTransport(mcp_session_id=None, is_json_response_enabled=True)

    async def run(*, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        async with transport.connect() as (read, write):
            task_status.started()
            await server.run(read, write, server.create_initialization_options(), stateless=True)

    async with anyio.create_task_group() as tg:
        await tg.start(run)
        try:
            await transport.handle_request(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await transport.terminate()


async def serve_stdio(ctx: HandlerContext, app: AppIdentity) -> None:
    """Serve `app` over stdin/stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    server = build(ctx, app)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
