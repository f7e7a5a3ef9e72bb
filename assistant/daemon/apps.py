"""The app registry: names, scopes and token hashes in one JSON file (mode 0600).

Tokens are 256-bit random strings shown once; only their sha256 is stored, which is enough
for secrets this long (no slow hash needed: they cannot be guessed from a dictionary). The
daemon re-reads the file when it changes, so `assistant apps add/revoke` take effect at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.api.base import SCOPES
from runtime.errors import ConfigError, InvalidName

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TOKEN_PREFIX = "ast_"
OWNER = "owner"
"""The app the daemon registers for the local user; its token sits in a 0600 file for the CLI."""


@dataclass(frozen=True)
class AppIdentity:
    """Who is calling: the app's name, the scopes it holds, and when this registration was made
    (a grant the user gave an earlier app of the same name does not carry over)."""

    name: str
    scopes: frozenset[str]
    registered_at: float = 0.0

    def allows(self, scope: str) -> bool:
        return not scope or scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True)
class AppRecord:
    """One registered app, as stored (never the token itself)."""

    name: str
    scopes: tuple[str, ...]
    token_sha256: str
    created_at: float


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    """Return name if it is a safe app name; InvalidName otherwise."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidName(
            f"{name!r} is not a valid app name",
            "use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Return the scopes in text ("chat,translate"), checked against SCOPES."""
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise ConfigError(
            f"unknown scope(s): {', '.join(bad) or '(none given)'}", f"scopes: {', '.join(SCOPES)}"
        )
    return scopes


class AppRegistry:
    """Registered apps, persisted in `path`; thread-safe, reloads when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._mu = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._apps: dict[str, AppRecord] = {}
        self._by_hash: dict[str, AppRecord] = {}

    # -- reading -----------------------------------------------------------------------------
    def _refresh(self) -> None:
        try:
            st = self.path.stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)  # each save is a new inode
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp and (stamp is not None or not self._apps):
            return
        apps: dict[str, AppRecord] = {}
        if stamp is not None:
            try:
                raw = json.loads(self.path.read_text())
                for name, rec in raw.get("apps", {}).items():
                    apps[name] = AppRecord(
                        name, tuple(rec["scopes"]), rec["token_sha256"], float(rec["created_at"])
                    )
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ConfigError(
                    f"app registry {self.path} is damaged: {exc}",
                    "fix or delete the file, then re-add apps with `assistant apps add`",
                ) from None
        self._apps, self._stamp = apps, stamp
        self._by_hash = {r.token_sha256: r for r in apps.values()}

    def list(self) -> list[AppRecord]:
        """Return the registered apps, sorted by name."""
        with self._mu:
            self._refresh()
            return sorted(self._apps.values(), key=lambda r: r.name)

    def identify(self, token: str) -> AppIdentity | None:
        """Return the app holding token, or None if no app (or a revoked one) does."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._mu:
            self._refresh()
            rec = self._by_hash.get(hash_token(token))
        return AppIdentity(rec.name, frozenset(rec.scopes), rec.created_at) if rec else None

    # -- writing -----------------------------------------------------------------------------
    def add(self, name: str, scopes: tuple[str, ...] | str, replace: bool = False) -> str:
        """Register an app and return its new token (shown once; only the hash is kept)."""
        check_name(name)
        scopes = parse_scopes(scopes)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._mu:
            self._refresh()
            if name in self._apps and not replace:
                raise ConfigError(
                    f"app {name} is already registered",
                    f"revoke it first (`assistant apps revoke {name}`) to issue a new token",
                )
            self._apps[name] = AppRecord(name, scopes, hash_token(token), time.time())
            self._save()
        return token

    def revoke(self, name: str) -> bool:
        """Forget an app, so its token stops working; return whether it existed."""
        with self._mu:
            self._refresh()
            if self._apps.pop(name, None) is None:
                return False
            self._save()
            return True

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "version": 1,
            "apps": {
                n: {"scopes": list(r.scopes), "token_sha256": r.token_sha256, "created_at": r.created_at}
                for n, r in sorted(self._apps.items())
            },
        }
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._stamp = None  # force a re-read so the stamp matches what is on disk
        self._refresh()


def ensure_owner_token(registry: AppRegistry, token_file: Path) -> str:
    """Return the local user's admin token, creating it (file mode 0600) on first run."""
    return ensure_app_token(registry, token_file, OWNER, ("admin",))


def ensure_app_token(registry: AppRegistry, token_file: Path, app: str, scopes: tuple[str, ...]) -> str:
    """Return the token kept in token_file for app, registering app with scopes (and writing the
    file, mode 0600, atomically) when the file is missing or its token no longer identifies."""
    if token_file.exists():
        token = token_file.read_text().strip()
        if registry.identify(token) is not None:
            return token
    registry.revoke(app)
    token = registry.add(app, scopes)
    token_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = token_file.with_name(f".{token_file.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.replace(tmp, token_file)
    return token
