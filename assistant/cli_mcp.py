"""`assistant mcp`: the MCP server over stdio, what Claude Desktop and VS Code launch.

The server acts as one registered app, the one whose token is in ASSISTANT_TOKEN (create it with
`assistant apps add claude --scopes chat,memory:read`); it sees and does only what that app may.
"""

from __future__ import annotations

import os

import click

from assistant.cli import friendly
from runtime.config import Config
from runtime.errors import ConfigError


@click.command()
@click.pass_obj
@friendly
def mcp(cfg: Config) -> None:
    """Serve the Model Context Protocol over stdin/stdout, as the app whose token is in ASSISTANT_TOKEN."""
    import anyio

    from assistant.daemon.app import _version
    from assistant.daemon.apps import AppRegistry
    from assistant.daemon.handlers import HandlerContext
    from assistant.daemon.metrics import DaemonMetrics
    from assistant.daemon.settings import DaemonConfig
    from assistant.mcp.server import serve_stdio
    from assistant.services import Services

    token = os.environ.get("ASSISTANT_TOKEN", "").strip()
    if not token:
        raise ConfigError(
            "ASSISTANT_TOKEN is not set",
            "create an app token with `assistant apps add NAME --scopes ...` and put it in the "
            "client's MCP config as the ASSISTANT_TOKEN environment variable",
        )
    settings = DaemonConfig.from_config(cfg)
    app = AppRegistry(settings.registry_path).identify(token)
    if app is None:
        raise ConfigError(
            "the token in ASSISTANT_TOKEN is unknown or was revoked",
            "create a new one with `assistant apps add NAME --scopes ...`",
        )
    services = Services(cfg)
    ctx = HandlerContext(services, settings, DaemonMetrics(), _version())
    try:
        anyio.run(serve_stdio, ctx, app)
    finally:
        services.close()
