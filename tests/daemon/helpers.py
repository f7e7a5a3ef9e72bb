"""What the daemon tests import: a real daemon started in a thread (start_daemon/stop_daemon) and
the handle to it (Daemon). The fixtures that use them are in conftest.py."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from runtime.config import Config
from assistant.daemon.apps import AppRegistry
from assistant.daemon.settings import DaemonConfig

SMOL = "smollm2-135m"


@dataclass
class Daemon:
    """A running test daemon and the tokens registered on it."""

    settings: DaemonConfig
    server: Any
    thread: threading.Thread
    registry: AppRegistry
    tokens: dict[str, str]
    app: Any
    services: Any

    @property
    def socket(self) -> Path:
        assert self.server.listeners.unix_path is not None
        return self.server.listeners.unix_path

    @property
    def port(self) -> int:
        assert self.server.listeners.tcp_address is not None
        return self.server.listeners.tcp_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def unix(self, token: str | None = "admin", **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[token]}"} if token else {}
        headers.update(kw.pop("headers", {}))
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=str(self.socket)),
            base_url="http://localhost",
            headers=headers,
            timeout=120,
            **kw,
        )

    def tcp(self, token: str | None = "admin", **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[token]}"} if token else {}
        headers.update(kw.pop("headers", {}))
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kw)


def start_daemon(root: Path, services: Any, **limits: Any) -> Daemon:
    """Start a daemon in a thread on root/run/assistant.sock and 127.0.0.1:0, with test apps registered."""
    from assistant.daemon.app import create_app
    from assistant.daemon.server import DaemonServer, bind

    cfg = Config.from_env({"ASSISTANT_HOME": str(root)})
    settings = DaemonConfig.from_config(cfg).with_tcp("127.0.0.1:0").with_(**limits)
    registry = AppRegistry(settings.registry_path)
    tokens = {
        name: registry.add(name, scopes)
        for name, scopes in (
            ("admin", "admin"),
            ("chatter", "chat"),
            ("translator", "translate"),
            ("gone", "chat"),
        )
    }
    registry.revoke("gone")
    app = create_app(services, settings, registry)
    server = DaemonServer(app, bind(settings))
    thread = threading.Thread(target=server.run, name="test-daemon", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "daemon did not start"
        time.sleep(0.01)
    return Daemon(settings, server, thread, registry, tokens, app, services)


def stop_daemon(d: Daemon) -> None:
    d.server.stop()
    d.thread.join(10)
    d.server.cleanup()
