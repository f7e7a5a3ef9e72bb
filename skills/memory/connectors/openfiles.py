"""Open files: the regular files the user's running programs hold open right now, read from
/proc/<pid>/fd on Linux, each stored under the program's name as the app.

Skipped: other users' processes, the assistant itself, sockets, pipes and anonymous inodes,
everything under /proc, /sys, /dev, /run and the system folders, shared libraries, caches and
app-state folders (any dot-folder such as ~/.config or ~/.cache), databases' journals, and
excluded paths (privacy.py). The cursor holds the (process, file) pairs already recorded that are
still open, so a file held open for hours is recorded once, and again only when reopened.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

from skills.memory.connectors.base import ConnectorContext, Cursor, Item, Reading, Unavailable, idem

SYSTEM = (
    "/proc/",
    "/sys/",
    "/dev/",
    "/run/",
    "/usr/",
    "/lib",
    "/bin/",
    "/sbin/",
    "/etc/",
    "/var/",
    "/boot/",
    "/snap/",
    "/opt/",
    "/nix/",
    "/memfd:",
)
_SKIP_NAME = re.compile(
    r"(\.so(\.\d+)*|\.pyc|\.lock|\.lck|-journal|-wal|-shm|\.log|\.tmp|\.swp|\.sqlite|\.db|\.idx|\.pack"
    r"|\.cache|\.ttf|\.otf|\.mo|\.gresource)$",
    re.I,
)
_CACHE_PARTS = frozenset({"cache", "caches", "__pycache__", "node_modules", "site-packages"})


def wanted(path: str) -> bool:
    """Return whether an open file is a user's document rather than system or app state."""
    if not path.startswith("/") or path.endswith(" (deleted)") or path.startswith(SYSTEM):
        return False
    parts = path.split("/")[1:]
    if any(p.startswith(".") or p.lower() in _CACHE_PARTS for p in parts[:-1]):
        return False  # dot-folders hold app state (~/.config, ~/.cache, ~/.mozilla); caches
    name = parts[-1]
    return bool(name) and not name.startswith(".") and not _SKIP_NAME.search(name)


def _start_time(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "0"
    return raw.rsplit(")", 1)[-1].split()[19]  # field 22, after the (comm) that may hold spaces


def _app_name(comm: str) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", comm.strip().lower()).strip("-.") or "program"
    return name[:64]


class OpenFiles:
    """Files open in the user's programs now (Linux /proc)."""

    name = "open-files"
    app = "connector:open-files"
    interval = 60.0
    description = "files your running programs hold open (/proc/<pid>/fd); the program is the app"

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        proc = Path("/proc")
        if not sys.platform.startswith("linux") or not (proc / "self" / "fd").is_dir():
            raise Unavailable("open files are read from /proc, which this system lacks", "it works on Linux")
        seen_before = set(cursor.get("open", ()))
        now_open: dict[str, Item] = {}
        me = str(os.getpid())
        own = tuple(str(d) + "/" for d in ctx.own_dirs)
        for entry in os.scandir(proc):
            pid = entry.name
            if not pid.isdigit() or pid == me:
                continue
            try:
                if entry.stat(follow_symlinks=False).st_uid != ctx.uid:
                    continue
                fds = os.listdir(f"/proc/{pid}/fd")
                comm = Path(f"/proc/{pid}/comm").read_text()
            except OSError:  # gone, or not ours to read
                continue
            app = _app_name(comm)
            start = ""
            for fd in fds:
                try:
                    path = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if not wanted(path) or path.startswith(own):
                    continue
                start = start or _start_time(pid)
                key = idem(pid, start, path)
                if key in now_open:
                    continue
                try:
                    if not stat.S_ISREG(os.stat(path).st_mode):
                        continue
                except OSError:
                    continue
                now_open[key] = Item(
                    app,
                    {
                        "kind": "file_opened",
                        "title": os.path.basename(path),
                        "body": f"open in {comm.strip()} (pid {pid})",
                        "uri": "file://" + path,
                        "entities": {"files": [path]},
                        "created": ctx.now,
                        "idempotency_key": key,
                    },
                )
        new = tuple(it for k, it in now_open.items() if k not in seen_before)
        note = f"{len(now_open)} open, {len(new)} newly opened"
        return Reading(new, {"open": sorted(now_open)}, note)


__all__ = ["OpenFiles", "wanted"]
