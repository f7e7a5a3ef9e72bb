"""Opt-in context connectors: plugins that read what the system already records and push it into
memory under their own app identity (see base.py for the seam, runner.py for the path they push by).

CONNECTORS maps each name to "module:Class"; modules are imported only when a connector is used.
"""

from __future__ import annotations

import importlib

from skills.memory.connectors.base import Connector, ConnectorError

CONNECTORS: dict[str, str] = {
    "open-files": "skills.memory.connectors.openfiles:OpenFiles",
    "recent-files": "skills.memory.connectors.recent:RecentFiles",
    "browser": "skills.memory.connectors.browser:BrowserHistory",
    "git": "skills.memory.connectors.gitlog:GitActivity",
    "calendar": "skills.memory.connectors.pim:Calendar",
    "contacts": "skills.memory.connectors.pim:Contacts",
    "shell": "skills.memory.connectors.shell:ShellHistory",
    "window": "skills.memory.connectors.desktop:FocusedWindow",
    "clipboard": "skills.memory.connectors.desktop:Clipboard",
}


def get(name: str) -> Connector:
    """Return a new instance of the connector called name; ConnectorError lists the known ones."""
    target = CONNECTORS.get(name)
    if target is None:
        raise ConnectorError(
            f"unknown connector {name!r}", f"connectors: {', '.join(CONNECTORS)}", field="name"
        )
    module, attr = target.split(":")
    conn: Connector = getattr(importlib.import_module(module), attr)()
    return conn


def names() -> list[str]:
    return list(CONNECTORS)


__all__ = ["CONNECTORS", "get", "names"]
