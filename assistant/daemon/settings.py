"""DaemonConfig: where the daemon listens and the limits it enforces, derived from Config."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from pathlib import Path

from runtime.config import Config
from runtime.errors import ConfigError

SOCKET_NAME = "assistant.sock"


@dataclass(frozen=True)
class DaemonConfig:
    """Listeners and limits.

    socket_path: the Unix socket (mode 0600); None serves no Unix socket.
    tcp_host / tcp_port: optional TCP listener, loopback only (127.0.0.1 or ::1); port 0 picks one.
    fd: an inherited listening socket (systemd socket activation), used instead of socket_path.
    allowed_origins: browser origins allowed on TCP (default none), from ASSISTANT_ALLOWED_ORIGINS.
    max_body_bytes: larger request bodies get 413.
    request_timeout: seconds a request may run before it is stopped (504, or an SSE error event).
    header_timeout: seconds a connection has to send a request's line and headers (408 and closed after).
    max_audio_seconds: longest audio an upload may decode to (413 past it, found before decoding it all).
    registry_path: the app registry (names, scopes, token hashes).
    owner_token_path: the local user's admin token, read by the CLI and the client.
    """

    socket_path: Path | None
    registry_path: Path
    owner_token_path: Path
    pid_path: Path
    log_path: Path
    tcp_host: str | None = None
    tcp_port: int = 0
    fd: int | None = None
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 8 * 1024 * 1024
    request_timeout: float = 600.0
    header_timeout: float = 10.0
    max_audio_seconds: float = 15 * 60.0

    @classmethod
    def from_config(cls, config: Config) -> "DaemonConfig":
        """Return the default daemon settings for config: Unix socket only."""
        return cls(
            socket_path=config.runtime_dir / SOCKET_NAME,
            registry_path=config.data_dir / "apps.json",
            owner_token_path=config.data_dir / "owner.token",
            pid_path=config.runtime_dir / "daemon.pid",
            log_path=config.data_dir / "daemon.log",
            allowed_origins=config.allowed_origins,
        )

    def with_tcp(self, spec: str) -> "DaemonConfig":
        """Return a copy listening on TCP too; spec is "PORT", "127.0.0.1:PORT" or "[::1]:PORT"."""
        host, port = parse_tcp(spec)
        return replace(self, tcp_host=host, tcp_port=port)

    def with_(self, **changes: object) -> "DaemonConfig":
        return replace(self, **changes)  # type: ignore[arg-type]


def parse_tcp(spec: str) -> tuple[str, int]:
    """Return (host, port) from spec; ConfigError unless the host is loopback."""
    text = spec.strip()
    host, sep, port_s = text.rpartition(":")
    if not sep:
        host, port_s = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    try:
        port = int(port_s)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"--tcp {spec!r}: {port_s!r} is not a port", "use e.g. --tcp 127.0.0.1:8765"
        ) from None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if host not in ("127.0.0.1", "::1") or not loopback:
        raise ConfigError(
            f"--tcp {spec!r}: the daemon binds only to 127.0.0.1 or ::1",
            "use --tcp 127.0.0.1:PORT; to reach it from elsewhere, tunnel (e.g. ssh -L)",
        )
    return host, port
