"""Recently used files: the freedesktop recently-used.xbel that GTK and KDE apps write, one event
per (file, application) use newer than the cursor, stored under the application's name as the app.

The file is parsed only when its mtime or size changed since the last run.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from skills.memory.connectors.base import ConnectorContext, Cursor, Item, Reading, idem

BOOKMARK_NS = "http://www.freedesktop.org/standards/desktop-bookmarks"
MIME_NS = "http://www.freedesktop.org/standards/shared-mime-info"


def _when(app_el: object, fallback: str) -> float:
    get = getattr(app_el, "get")
    if get("modified"):
        return _iso(get("modified"))
    if get("timestamp"):  # older GTK wrote unix seconds
        try:
            return float(get("timestamp"))
        except ValueError:
            pass
    return _iso(fallback)


def _iso(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return 0.0


def _app_name(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip("-.")[:64] or "desktop-app"


class RecentFiles:
    """Files opened in desktop apps, from ~/.local/share/recently-used.xbel."""

    name = "recent-files"
    app = "connector:recent-files"
    interval = 60.0
    description = "recently used files (recently-used.xbel, written by GTK and KDE apps)"

    def path(self, ctx: ConnectorContext) -> Path:
        for p in ctx.settings.paths:
            if p.endswith(".xbel"):
                return Path(p)
        data = ctx.env.get("XDG_DATA_HOME") or str(ctx.home / ".local" / "share")
        return Path(data) / "recently-used.xbel"

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        import xml.etree.ElementTree as ET

        path = self.path(ctx)
        try:
            st = path.stat()
        except FileNotFoundError:
            return Reading((), dict(cursor), f"{path} does not exist yet")
        stamp = [st.st_mtime_ns, st.st_size]
        if cursor.get("stamp") == stamp:
            return Reading((), dict(cursor), "unchanged")
        since = float(cursor.get("since", 0.0))
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            return Reading((), dict(cursor), f"{path} is not valid XBEL: {exc}")
        items: list[tuple[float, Item]] = []
        newest = since
        for bm in root.iter("bookmark"):
            href = bm.get("href", "")
            if not href:
                continue
            mime_el = bm.find(f".//{{{MIME_NS}}}mime-type")
            mime = mime_el.get("type", "") if mime_el is not None else ""
            local = unquote(urlparse(href).path) if href.startswith("file://") else ""
            title_el = bm.find("title")
            title = (title_el.text or "").strip() if title_el is not None else ""
            title = title or Path(local or urlparse(href).path).name or href
            for app_el in bm.iter(f"{{{BOOKMARK_NS}}}application"):
                when = _when(app_el, bm.get("modified") or bm.get("visited") or bm.get("added") or "")
                if when <= since or when > ctx.now + 300:
                    continue
                newest = max(newest, when)
                app_name = app_el.get("name", "") or "desktop app"
                count = app_el.get("count", "1")
                ev = {
                    "kind": "file_opened",
                    "title": title,
                    "body": f"opened in {app_name} ({count} times)" + (f", {mime}" if mime else ""),
                    "uri": href,
                    "entities": {"files": [local]} if local else {},
                    "created": when,
                    "idempotency_key": idem(href, app_name, when),
                }
                items.append((when, Item(_app_name(app_name), ev)))
        items.sort(key=lambda x: x[0])
        return Reading(
            tuple(i for _, i in items), {"stamp": stamp, "since": newest}, f"{len(items)} new uses"
        )


__all__ = ["RecentFiles"]
