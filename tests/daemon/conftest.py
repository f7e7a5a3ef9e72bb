"""Real daemons for the daemon tests: uvicorn on a temporary Unix socket and on 127.0.0.1:<free port>.

`daemon` serves the session's real Runtime (SmolLM2 loads once). `fake_daemon` serves a Runtime whose
text engine is the shipped fake (instant, deterministic) with a tiny queue, for busy/timeout and fuzz tests.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

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


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory, real_runtime: Any) -> Iterator[Daemon]:
    from assistant.services import Services

    root = tmp_path_factory.mktemp("d")
    services = Services(
        Config.from_env({"ASSISTANT_HOME": str(root)}).with_(chat_model=SMOL), runtime=real_runtime
    )
    # generous: on a loaded 2-core machine 16 queued chats can take a minute; limits have their own daemon
    d = start_daemon(root, services, max_body_bytes=64 * 1024, request_timeout=300.0)
    yield d
    stop_daemon(d)


def _fake_daemon(
    root: Path,
    store: Any,
    config: Config,
    delay: float,
    queue_timeout: float,
    max_queue: int,
    request_timeout: float,
) -> tuple[Daemon, Any]:
    from assistant.services import Services
    from runtime.engines.fake import FakeTextEngine
    from runtime.runtime import Runtime

    def load_fake(model: Any, plan: Any) -> FakeTextEngine:
        return FakeTextEngine(model.id, reply="fake reply " * 20, token_delay=delay)

    rt = Runtime(
        config.with_(chat_model=SMOL, queue_timeout=queue_timeout), store=store, loaders={"gguf": load_fake}
    )
    rt.scheduler.max_queue = max_queue
    with rt.scheduler.use(SMOL):  # install and "load" before timing anything
        pass
    services = Services(config.with_(chat_model=SMOL, data_dir=root / "data"), runtime=rt)
    return start_daemon(root, services, max_body_bytes=64 * 1024, request_timeout=request_timeout), rt


@pytest.fixture(scope="session")
def fake_daemon(
    tmp_path_factory: pytest.TempPathFactory, real_store: Any, config: Config
) -> Iterator[Daemon]:
    """A daemon over the fake engine (10 ms a token): a 1-deep queue with a 0.3 s wait, to provoke
    429 and 503, and a 1 s request limit."""
    d, rt = _fake_daemon(tmp_path_factory.mktemp("f"), real_store, config, 0.01, 0.3, 1, 1.0)
    yield d
    stop_daemon(d)
    rt.close()


@pytest.fixture(scope="session")
def fuzz_daemon(
    tmp_path_factory: pytest.TempPathFactory, real_store: Any, config: Config
) -> Iterator[Daemon]:
    """A daemon over the instant fake engine with roomy limits: any 5xx from it is a bug."""
    d, rt = _fake_daemon(tmp_path_factory.mktemp("z"), real_store, config, 0.0, 30.0, 64, 30.0)
    yield d
    stop_daemon(d)
    rt.close()
