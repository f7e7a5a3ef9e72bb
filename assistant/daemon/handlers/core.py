"""Handlers for /health and /metrics."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import PlainTextResponse

from assistant.api.core import Health
from assistant.daemon.apps import AppIdentity
from assistant.daemon.handlers import Handler, HandlerContext

if TYPE_CHECKING:
    from assistant.services import Services
    from runtime.runtime import Runtime


async def health(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> Health:
    rt = built_runtime(ctx.services)
    loaded = [m.model_id for m in rt.scheduler.loaded()] if rt is not None else []
    return Health(
        status="ok",
        version=ctx.version,
        uptime_seconds=round(time.monotonic() - ctx.started, 3),
        loaded_models=loaded,
    )


async def metrics(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> Any:
    rt = built_runtime(ctx.services)
    text = ctx.metrics.render(rt.scheduler if rt is not None else None)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


def built_runtime(services: Services) -> Runtime | None:
    """Return the runtime if one was built, else None: health checks must not build one."""
    return services.runtime if services.runtime_started else None


def handlers() -> dict[str, Handler]:
    return {"health": health, "metrics": metrics}
