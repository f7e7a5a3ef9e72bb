"""Paths no connector may ever read or record, whatever the user lists: keys, password stores,
password-manager files and browsers' private-browsing profiles.

`excluded(path, home)` is checked twice: when the user lists a folder (refused with the reason) and on
every path a connector is about to read or record (dropped silently), so a symlink or a file opened
from inside ~/.ssh never reaches memory either.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from skills.memory.connectors.base import ConnectorError

# Relative to the home directory; a path equal to or under any of these is excluded.
EXCLUDED_DIRS = (
    ".ssh",
    ".gnupg",
    ".password-store",
    ".local/share/keyrings",
    ".pki",
    ".config/KeePassXC",
    ".config/keepassxc",
    ".config/Bitwarden",
    ".config/1Password",
    ".aws",
    ".kube",
    ".docker",
)
# File names (any folder): password-manager databases, private keys and keychains.
EXCLUDED_NAMES = (
    "*.kdbx",
    "*.kdb",
    "*.psafe3",
    "*.opvault",
    "*.agilekeychain",
    "*.1pif",
    "*.keychain",
    "*.keychain-db",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "id_dsa*",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    "logins.json",
    "key4.db",
    "Login Data*",
)
# Browser profile folders used for private browsing (some browsers and wrappers keep one on disk).
PRIVATE_PROFILE_PARTS = ("private", "incognito", "guest profile")
BROWSER_ROOTS = (
    ".mozilla",
    "firefox",
    "chromium",
    "google-chrome",
    "bravesoftware",
    "vivaldi",
    "microsoft-edge",
)


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().resolve(strict=False)
    except (OSError, RuntimeError):
        return path.expanduser().absolute()


def excluded(path: str | Path, home: Path) -> str | None:
    """Return why path must never be read or recorded, or None if it may be."""
    raw = str(path)
    if raw.startswith("file://"):
        from urllib.parse import unquote, urlparse

        raw = unquote(urlparse(raw).path)
    p = Path(raw).expanduser()
    candidates = {p, _resolved(p)}  # the path as given and where it leads (a symlink into ~/.ssh)
    homes = {home, _resolved(home)}
    for c in candidates:
        for h in homes:
            for d in EXCLUDED_DIRS:
                base = h / d
                if c == base or base in c.parents:
                    return f"~/{d} holds keys or passwords"
        for pat in EXCLUDED_NAMES:
            if fnmatch.fnmatch(c.name, pat):
                return f"{c.name} looks like a key or password file ({pat})"
        low = [part.lower() for part in c.parts]
        if "tor browser" in low or "tor-browser" in low:
            return "Tor Browser is private browsing"
        if any(r in part for part in low for r in BROWSER_ROOTS):
            for part in low:
                if any(word in part for word in PRIVATE_PROFILE_PARTS):
                    return f"{part!r} looks like a private-browsing profile"
    return None


def check_listed(paths: tuple[str, ...], home: Path) -> tuple[str, ...]:
    """Return paths expanded to absolute ones; ConnectorError names the first excluded one and why."""
    out = []
    for raw in paths:
        why = excluded(raw, home)
        if why:
            raise ConnectorError(
                f"{raw} cannot be included: {why}",
                "connectors never read keys, password stores or private-browsing profiles; list another folder",
                field="paths",
            )
        out.append(str(_resolved(Path(raw).expanduser())))
    return tuple(dict.fromkeys(out))


__all__ = ["EXCLUDED_DIRS", "EXCLUDED_NAMES", "check_listed", "excluded"]
