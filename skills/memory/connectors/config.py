"""Which connectors are on, and their settings: one JSON file in the config dir (mode 0600).

Everything is off until the user enables it. The daemon re-reads the file when it changes, so
`assistant connectors enable NAME` takes effect without a restart.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

from runtime.errors import ConfigError
from skills.memory.connectors.base import ConnectorSettings

FILE_NAME = "connectors.json"


class ConnectorConfig:
    """The persisted {name: ConnectorSettings} map at config_dir/connectors.json."""

    def __init__(self, config_dir: Path) -> None:
        self.path = Path(config_dir) / FILE_NAME

    def stamp(self) -> tuple[int, int] | None:
        """Return (mtime_ns, size) of the file, or None if there is none: cheap change detection."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def load(self) -> dict[str, ConnectorSettings]:
        """Return every connector's settings (absent ones are off)."""
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise ConfigError(
                f"{self.path} is not valid JSON: {exc}", "fix it, or delete it to turn every connector off"
            ) from None
        out: dict[str, ConnectorSettings] = {}
        try:
            for name, rec in raw.get("connectors", {}).items():
                interval = rec.get("interval")
                out[name] = ConnectorSettings(
                    bool(rec.get("enabled", False)),
                    tuple(str(p) for p in rec.get("paths", ())),
                    None if interval is None else float(interval),
                )
        except (AttributeError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{self.path} is damaged: {exc}", "fix it, or delete it to turn every connector off"
            ) from None
        return out

    def get(self, name: str) -> ConnectorSettings:
        return self.load().get(name, ConnectorSettings())

    def update(self, name: str, **changes: Any) -> ConnectorSettings:
        """Change one connector's settings, save, and return them."""
        allc = self.load()
        new = replace(allc.get(name, ConnectorSettings()), **changes)
        allc[name] = new
        self._save(allc)
        return new

    def _save(self, allc: dict[str, ConnectorSettings]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "connectors": {n: s.to_dict() for n, s in sorted(allc.items())}}
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, self.path)


__all__ = ["ConnectorConfig", "FILE_NAME"]
