"""The MCP endpoint: Streamable HTTP (JSON-RPC over POST, stateless) at /mcp.

Any registered app may connect; each tool then needs its own scope (see assistant/mcp/table.py).
"""

from __future__ import annotations

from typing import Any, Optional, Union

from assistant.api.base import ANY_APP, Endpoint, Wire


class JsonRpc(Wire):
    """One JSON-RPC message (or the SDK's batch); the MCP SDK validates it further."""

    jsonrpc: str = "2.0"
    method: Optional[str] = None
    id: Union[int, str, None] = None
    params: Optional[dict[str, Any]] = None


MCP = Endpoint(
    "mcp",
    "POST",
    "/mcp",
    ANY_APP,
    JsonRpc,
    summary="Model Context Protocol, Streamable HTTP: memory, translate, transcribe, autocomplete, ask.",
)

ENDPOINTS: tuple[Endpoint, ...] = (MCP,)
