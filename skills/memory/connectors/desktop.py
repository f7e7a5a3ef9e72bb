"""The focused window's title (X11, EWMH _NET_ACTIVE_WINDOW and _NET_WM_NAME, read with xprop) and
the clipboard's text (xclip or xsel). Both record only changes; without an X11 display they say
they cannot, and why (Wayland does not let one program read another's window titles or, unfocused,
the clipboard).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from typing import Mapping

from skills.memory.connectors.base import ConnectorContext, Cursor, Item, Reading, Unavailable, idem

TIMEOUT = 2.0
MAX_CLIP = 4000


def need_x11(env: Mapping[str, str], what: str) -> str:
    """Return the X11 display, or raise Unavailable saying why there is none."""
    display = env.get("DISPLAY", "")
    if display:
        return display
    if env.get("WAYLAND_DISPLAY"):
        raise Unavailable(
            f"cannot read the {what} on Wayland: it does not let one program read another's {what}",
            "run an X11 session (or XWayland apps) to use this connector",
        )
    raise Unavailable(
        f"cannot read the {what}: there is no display ($DISPLAY is not set)",
        "run the daemon inside your desktop session (X11)",
    )


def _run(args: list[str], env: Mapping[str, str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, timeout=TIMEOUT, env=dict(env), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"{args[0]} failed: {exc}", "check that the X server is reachable") from None
    if out.returncode != 0:
        raise Unavailable(
            f"{args[0]} failed: {out.stderr.decode(errors='replace').strip()[:200]}",
            "check that $DISPLAY points at a running X server",
        )
    return out.stdout.decode("utf-8", "replace")


def _prop_text(out: str) -> str:
    m = re.search(r'=\s*"(.*)"\s*$', out.strip(), re.S)
    return m.group(1).replace('\\"', '"') if m else ""


class FocusedWindow:
    """The title of the window in focus, recorded when it changes."""

    name = "window"
    app = "connector:window"
    interval = 15.0
    description = "the focused window's title on X11 (EWMH), recorded when it changes"

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        need_x11(ctx.env, "window titles")
        if shutil.which("xprop") is None:
            raise Unavailable("xprop is not installed", "install it (apt install x11-utils)")
        active = _run(["xprop", "-root", "_NET_ACTIVE_WINDOW"], ctx.env)
        m = re.search(r"window id # (0x[0-9a-f]+)", active)
        if not m or int(m.group(1), 16) == 0:
            return Reading((), dict(cursor), "no window has focus")
        wid = m.group(1)
        info = _run(["xprop", "-id", wid, "_NET_WM_NAME", "WM_CLASS"], ctx.env)
        lines = info.splitlines()
        title = _prop_text(next((line for line in lines if line.startswith("_NET_WM_NAME")), ""))
        klass = re.findall(r'"([^"]*)"', next((line for line in lines if line.startswith("WM_CLASS")), ""))
        program = klass[-1] if klass else ""
        key = hashlib.sha256(f"{wid}|{title}".encode()).hexdigest()[:32]
        if not title or cursor.get("last") == key:
            return Reading((), dict(cursor), "unchanged")
        ev = {
            "kind": "note",
            "title": title[:500],
            "body": f"focused window of {program or 'a program'}",
            "created": ctx.now,
            "idempotency_key": idem("window", key, ctx.now),
        }
        return Reading((Item(self.app, ev),), {"last": key}, f"focused: {program}")


class Clipboard:
    """Text copied to the clipboard (off unless enabled; text only; secrets redacted)."""

    name = "clipboard"
    app = "connector:clipboard"
    interval = 10.0
    description = "text you copy (X11 clipboard; text only, secrets redacted, kept 1 day)"

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        need_x11(ctx.env, "clipboard")
        if shutil.which("xclip"):
            targets = _run(["xclip", "-o", "-selection", "clipboard", "-t", "TARGETS"], ctx.env)
            if not re.search(r"UTF8_STRING|text/plain|STRING", targets):
                return Reading((), dict(cursor), "the clipboard holds no text")
            text = _run(["xclip", "-o", "-selection", "clipboard"], ctx.env)
        elif shutil.which("xsel"):
            text = _run(["xsel", "--clipboard", "--output"], ctx.env)
        else:
            raise Unavailable("neither xclip nor xsel is installed", "install one (apt install xclip)")
        text = text.strip()
        key = hashlib.sha256(text.encode()).hexdigest()[:32]
        if not text or cursor.get("last") == key:
            return Reading((), dict(cursor), "unchanged")
        sens = "normal"
        from skills.memory.connectors.shell import secret_reason

        # a lone word-like string copied (a password from a manager) is kept only as "a secret was copied"
        if secret_reason(text) or (" " not in text and len(text) >= 12 and re.search(r"\d", text)):
            sens = "secret"
        ev = {
            "kind": "clipboard",
            "title": "copied text",
            "body": text[:MAX_CLIP],
            "sensitivity": sens,
            "created": ctx.now,
            "idempotency_key": idem("clip", key, ctx.now),
        }
        return Reading((Item(self.app, ev),), {"last": key}, f"{len(text)} characters copied")


__all__ = ["Clipboard", "FocusedWindow", "need_x11"]
