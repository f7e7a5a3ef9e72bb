"""The database key: kept in the OS keyring, or, where none exists, in a 0600 file with a warning.

Key sources ("key_source" in StoreOptions):
  auto     keyring if it works, else the key file (warns when it makes the file, since a file next to the database
           protects only against copies of the database alone)
  keyring  keyring only; StoreError if there is none
  file     the key file, chosen explicitly (no warning)
"""

from __future__ import annotations

import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from skills.memory.model import StoreError

SERVICE = "assistant-memory"


class KeyFileWarning(UserWarning):
    """The memory key is in a file because no OS keyring is available."""


@dataclass(frozen=True)
class Key:
    """A 32-byte raw SQLCipher key and where it lives ("keyring" or the file path)."""

    hex: str
    source: str


def key_file_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".key")


def load_key(db_path: Path, key_source: str = "auto") -> Key:
    """Return the key for db_path, creating one on first use."""
    kf = key_file_for(db_path)
    if key_source not in ("auto", "keyring", "file"):
        raise StoreError(f"unknown key source {key_source!r}", "use auto, keyring or file")
    # A key already in a file stays there: moving it silently would strand older copies.
    if key_source == "file" or (key_source == "auto" and kf.exists()):
        return _file_key(kf)  # warned when the file was made; `assistant memory stats` shows where it is
    err = None
    try:
        key = _keyring_key(str(db_path.resolve()))
        if key is not None:
            return key
    except Exception as exc:  # keyring backends fail in many ways (no D-Bus, locked, none installed)
        err = exc
    if key_source == "keyring":
        raise StoreError(
            f"no OS keyring is available for the memory key ({err or 'no backend'})",
            "install a keyring backend, or use key_source='file'",
        )
    _warn_file(kf)
    return _file_key(kf)


def _warn_file(kf: Path) -> None:
    warnings.warn(
        KeyFileWarning(
            f"no OS keyring is available: the memory database key is in {kf} (mode 0600); anyone who can read "
            "your files can decrypt the memory database"
        ),
        stacklevel=3,
    )


def _keyring_key(name: str) -> Key | None:
    import keyring
    from keyring.backends import fail

    if isinstance(keyring.get_keyring(), fail.Keyring):
        raise RuntimeError("no keyring backend")
    value = keyring.get_password(SERVICE, name)
    if value is None:
        value = secrets.token_hex(32)
        keyring.set_password(SERVICE, name, value)
        if keyring.get_password(SERVICE, name) != value:  # some backends accept and drop writes
            raise RuntimeError("the keyring did not keep the key")
    return Key(value, "keyring")


def _file_key(kf: Path) -> Key:
    if kf.exists():
        mode = kf.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(kf, 0o600)  # repair, rather than refuse: the key is still ours
        value = kf.read_text().strip()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise StoreError(
                f"the memory key file {kf} is damaged",
                "restore it from a backup; without it the database cannot be read",
            )
        return Key(value, str(kf))
    kf.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(kf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return Key(value, str(kf))
