"""Runs the daemon: one uvicorn server on a Unix socket (mode 0600) and, optionally, loopback TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from runtime.config import Config
from assistant.daemon.apps import AppRegistry, ensure_owner_token
from assistant.daemon.settings import DaemonConfig
from runtime.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listeners:
    """The bound sockets and what to tell users about them."""

    sockets: tuple[socket.socket, ...]
    unix_path: Path | None
    tcp_address: tuple[str, int] | None


def bind_unix(path: Path) -> socket.socket:
    """Return a listening Unix socket at path, readable and writable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ConfigError(
                f"{path} exists and is not a socket", "remove it or choose another --socket path"
            )
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # stale socket from a daemon that died
        else:
            raise ConfigError(
                f"a daemon is already listening on {path}", "stop it with `assistant daemon stop`"
            )
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # created 0600: no window in which others could connect
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(256)
    sock.setblocking(False)
    return sock


def bind_tcp(host: str, port: int) -> socket.socket:
    """Return a listening loopback TCP socket (host is 127.0.0.1 or ::1, checked by settings)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}", "pick another port with --tcp"
        ) from None
    sock.listen(256)
    sock.setblocking(False)
    return sock


def bind(settings: DaemonConfig) -> Listeners:
    """Bind every listener the settings ask for."""
    socks: list[socket.socket] = []
    unix_path = None
    if settings.fd is not None:
        socks.append(socket.socket(fileno=settings.fd))  # systemd socket activation
    elif settings.socket_path is not None:
        socks.append(bind_unix(settings.socket_path))
        unix_path = settings.socket_path
    tcp = None
    if settings.tcp_host is not None:
        s = bind_tcp(settings.tcp_host, settings.tcp_port)
        socks.append(s)
        tcp = (settings.tcp_host, s.getsockname()[1])
    if not socks:
        raise ConfigError("the daemon has nothing to listen on", "give --socket, --tcp or --fd")
    return Listeners(tuple(socks), unix_path, tcp)


class DaemonServer:
    """A uvicorn server over pre-bound sockets; `serve()` in a loop, or `start()`/`stop()` in a thread."""

    def __init__(self, app: Any, listeners: Listeners, log_level: str = "warning") -> None:
        import uvicorn

        from assistant.daemon import logredact
        from assistant.daemon.protocol import protocol_class

        logredact.install()  # before uvicorn logs anything: no token reaches a log at any level
        self.listeners = listeners
        self.app = app
        settings: DaemonConfig | None = getattr(app.state, "settings", None)
        header_timeout = settings.header_timeout if settings is not None else 10.0
        # uvicorn's own limit is a backstop; the app answers 504 itself before this
        self.config = uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            http=protocol_class(header_timeout),
            timeout_keep_alive=30,
            timeout_graceful_shutdown=5,
        )
        self.server = _server_class()(self.config)

    async def serve(self) -> None:
        from assistant.daemon.connectors import start_scheduler

        connectors = start_scheduler(self.app)  # enabled connectors run on their schedules while serving
        try:
            await self.server.serve(sockets=list(self.listeners.sockets))
        finally:
            if connectors is not None:
                await connectors.stop()

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM (then return, so the caller can clean up)."""
        asyncio.run(self.serve())

    def stop(self) -> None:
        self.server.should_exit = True

    def cleanup(self) -> None:
        """Stop running generations, then remove the socket file; call after serving ends."""
        from assistant.daemon.generation import drain

        ctx = getattr(self.app.state, "context", None)
        if ctx is not None:
            drain(ctx.jobs)
            ctx.workers.close()
        if self.listeners.unix_path is not None:
            try:
                self.listeners.unix_path.unlink()
            except FileNotFoundError:
                pass


def _server_class() -> type[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, minus re-raising a caught SIGTERM/SIGINT once serving stops: that kills
        the process before the daemon drains its generations, closes its models and removes its
        socket and pid file. Here serve() returns and the caller cleans up, then exits."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield  # signals reach only the main thread (tests run the server in another)
                return
            sigs = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in sigs}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def build(config: Config, settings: DaemonConfig, services: Any = None) -> tuple[Any, Any]:
    """Return (app, services) for config, with the owner token registered."""
    from assistant.daemon.app import create_app
    from assistant.services import Services

    registry = AppRegistry(settings.registry_path)
    ensure_owner_token(registry, settings.owner_token_path)
    services = services or Services(config)
    return create_app(services, settings, registry), services


def run_daemon(config: Config, settings: DaemonConfig, log_level: str = "warning") -> None:
    """Bind, serve until SIGTERM or SIGINT, then shut down cleanly: stop accepting, let requests
    finish (5 s), cancel running generations, close the models, remove the socket and pid file.
    `assistant daemon run`."""
    from assistant.daemon.process import remove_pid_file, write_pid_file

    app, services = build(config, settings)
    listeners = bind(settings)
    server = DaemonServer(app, listeners, log_level)
    if threading.current_thread() is threading.main_thread():
        # a SIGTERM before uvicorn takes the signals over (while it starts) must not kill the process
        # before its cleanup: stop as soon as serving begins
        signal.signal(signal.SIGTERM, lambda _sig, _frame: server.stop())
    write_pid_file(settings)
    try:
        where = [f"unix:{listeners.unix_path}"] if listeners.unix_path else []
        if listeners.tcp_address:
            where.append(f"http://{_host(listeners.tcp_address[0])}:{listeners.tcp_address[1]}")
        log.warning("assistant daemon listening on %s", ", ".join(where) or f"fd {settings.fd}")
        server.run()
    finally:
        server.cleanup()
        services.close()
        remove_pid_file(settings)
        log.warning("assistant daemon stopped")


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
