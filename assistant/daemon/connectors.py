"""The daemon's connector scheduler: one asyncio task per enabled connector, each running its
blocking read and push in a worker thread, then sleeping its interval.

A supervisor task re-reads the connector settings file when it changes (one stat() every
`poll` seconds), so `assistant connectors enable/disable` apply without a restart. Nothing touches
the memory database until a connector is enabled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
ERROR_BACKOFF = 300.0  # a connector that cannot run (no display) retries this seldom


@dataclass(frozen=True)
class SchedulerOptions:
    """poll: seconds between checks of the settings file. min_interval: floor on any connector's interval."""

    poll: float = 5.0
    min_interval: float = 1.0


class ConnectorScheduler:
    """Runs enabled connectors on their schedules inside the daemon's event loop."""

    def __init__(self, services: Any, options: SchedulerOptions = SchedulerOptions()) -> None:
        from skills.memory.connectors.config import ConnectorConfig

        self.services = services
        self.options = options
        self.config = ConnectorConfig(services.config.config_dir)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._settings: dict[str, Any] = {}
        self._stamp: object = ()
        self._supervisor: asyncio.Task[None] | None = None
        self.runs = 0

    def start(self) -> None:
        """Start the supervisor in the running loop."""
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(), name="connectors")

    async def stop(self) -> None:
        """Cancel every connector task and the supervisor, and wait for them."""
        tasks = [*self.tasks.values(), *([self._supervisor] if self._supervisor else [])]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()

    async def _supervise(self) -> None:
        while True:
            try:
                self.reconcile()
            except Exception:  # a damaged settings file must not stop the daemon
                log.exception("connector settings could not be read")
            await asyncio.sleep(self.options.poll)

    def reconcile(self) -> None:
        """Start tasks for newly enabled connectors; cancel those disabled or changed."""
        from skills.memory import connectors

        stamp = self.config.stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        wanted = {n: s for n, s in self.config.load().items() if s.enabled and n in connectors.CONNECTORS}
        for name in list(self.tasks):
            if name not in wanted or wanted[name] != self._settings.get(name):
                self.tasks.pop(name).cancel()
        for name, s in wanted.items():
            if name not in self.tasks:
                conn = connectors.get(name)
                interval = s.interval or conn.interval
                if interval <= 0:
                    continue  # pushed by its own hook (shell), not polled
                self._settings[name] = s
                loop = asyncio.get_running_loop()
                self.tasks[name] = loop.create_task(
                    self._loop(conn, s, max(interval, self.options.min_interval)), name=f"connector-{name}"
                )

    async def _loop(self, conn: Any, settings: Any, interval: float) -> None:
        while True:
            try:
                report = await asyncio.to_thread(self._run, conn, settings)
                self.runs += 1
                wait = interval if report.error is None else max(interval, ERROR_BACKOFF)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("connector %s failed", conn.name)
                wait = max(interval, ERROR_BACKOFF)
            await asyncio.sleep(wait)

    def _run(self, conn: Any, settings: Any) -> Any:
        from skills.memory.connectors.runner import make_context, run_once

        skill = self.services.skill("memory")
        return run_once(skill, conn, make_context(self.services.config, settings))


def start_scheduler(app: Any) -> ConnectorScheduler | None:
    """Start the connector scheduler for a daemon app (in its running loop); None if it has no services."""
    ctx = getattr(app.state, "context", None)
    if ctx is None or getattr(ctx, "services", None) is None:
        return None
    sched = ConnectorScheduler(ctx.services)
    sched.start()
    app.state.connectors = sched
    return sched


__all__ = ["ConnectorScheduler", "SchedulerOptions", "start_scheduler"]
