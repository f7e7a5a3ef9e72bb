"""Handler modules, one per API module, and the context every handler receives.

A handler module exposes `handlers() -> dict[str, Handler]`, keyed by endpoint name, where

    async def handle(ctx: HandlerContext, body: RequestModel | None, app: AppIdentity,
                     request: fastapi.Request) -> ResponseModel | starlette Response

`body` is the validated request (None for body-less endpoints), `app` the authenticated caller.
Return the endpoint's response model, or a Response (SSE streams, plain text). Raise
AssistantError subclasses for refusals. Blocking work (model calls) must run off the event loop:
`await ctx.to_thread(fn, *args)`, or a GenerationJob for token streams.

To add a skill: write `handlers/<skill>.py` and add its name to HANDLER_MODULES (one line).

A module may also expose `websockets() -> dict[str, WebSocketHandler]`, keyed by path, each
`async def handle(ctx, websocket)`; `mount_websockets(app, ctx)` adds them. The handler
authenticates (`security.require_scope` works on a WebSocket too) and accepts the connection.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

import anyio

from assistant.daemon.generation import GenerationJob, WorkerPool
from assistant.daemon.metrics import DaemonMetrics
from assistant.daemon.settings import DaemonConfig

if TYPE_CHECKING:
    from assistant.services import Services

T = TypeVar("T")

HANDLER_MODULES: tuple[str, ...] = (
    "core",
    "openai",
    "autocomplete",
    "memory",
    "translate",
    "speech",
    "tts",
    "ollama",
    "mcp",
)

Handler = Callable[..., Awaitable[Any]]
WebSocketHandler = Callable[..., Awaitable[None]]


@dataclass
class HandlerContext:
    """What handlers share: the Services (runtime + skills), daemon settings, metrics."""

    services: Services
    settings: DaemonConfig
    metrics: DaemonMetrics
    version: str
    started: float = field(default_factory=time.monotonic)
    limiter: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(64))
    jobs: set[GenerationJob] = field(default_factory=set)
    """Running GenerationJobs; drained before the runtime closes."""
    workers: WorkerPool = field(default_factory=lambda: WorkerPool(64))
    """Threads for GenerationJobs, started with the context: never on the event loop."""

    async def to_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking fn(*args) in a worker thread and return its result."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)


def collect() -> dict[str, Handler]:
    """Return every handler from the modules in HANDLER_MODULES, keyed by endpoint name."""
    out: dict[str, Handler] = {}
    for name in HANDLER_MODULES:
        module = importlib.import_module(f"assistant.daemon.handlers.{name}")
        for endpoint, handler in module.handlers().items():
            if endpoint in out:
                raise ValueError(f"endpoint {endpoint!r} has handlers in two modules")
            out[endpoint] = handler
    return out


def collect_websockets() -> dict[str, WebSocketHandler]:
    """Return every WebSocket handler from the modules in HANDLER_MODULES, keyed by path."""
    out: dict[str, WebSocketHandler] = {}
    for name in HANDLER_MODULES:
        module = importlib.import_module(f"assistant.daemon.handlers.{name}")
        for path, handler in getattr(module, "websockets", dict)().items():
            if path in out:
                raise ValueError(f"WebSocket {path!r} has handlers in two modules")
            out[path] = handler
    return out


def mount_websockets(app: Any, ctx: HandlerContext) -> None:
    """Add every module's WebSocket routes to the FastAPI app (none already mounted are added twice)."""
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    mounted = {r.path for r in app.router.routes if isinstance(r, WebSocketRoute)}
    for path, handler in collect_websockets().items():
        if path in mounted:
            continue

        async def endpoint(websocket: WebSocket, _handler: WebSocketHandler = handler) -> None:
            await _handler(ctx, websocket)

        app.router.routes.append(WebSocketRoute(path, endpoint, name=path))
