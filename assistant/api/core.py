"""Wire types and endpoints of the daemon itself: health and metrics."""

from __future__ import annotations

from pydantic import BaseModel

from assistant.api.base import ANY_APP, Endpoint


class Health(BaseModel):
    status: str
    version: str
    uptime_seconds: float
    loaded_models: list[str]


HEALTH = Endpoint(
    "health",
    "GET",
    "/health",
    ANY_APP,
    response=Health,
    open_on_unix=True,
    summary="Liveness; no token needed on the Unix socket.",
)
METRICS = Endpoint(
    "metrics",
    "GET",
    "/metrics",
    "admin",
    summary="Prometheus text: tokens/s, queue depth, TTFT, loads, latency, refusals.",
    media_types=("text/plain",),
)

ENDPOINTS: tuple[Endpoint, ...] = (HEALTH, METRICS)
