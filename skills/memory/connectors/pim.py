"""Calendar (.ics) and contacts (.vcf) files in folders the user lists. Attendees, organisers and
contacts are stored as people entities and places as places, so "the meeting with Ana" and "Ana's
phone number" resolve. Files are re-parsed only when their mtime or size changed; contacts are
pushed again every REFRESH seconds so retention does not age out the address book.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from skills.memory.connectors.base import ConnectorContext, Cursor, Item, Reading, idem

REFRESH = 14 * 86400.0
MAX_FILES = 2000


def unfold(text: str) -> list[str]:
    """Return RFC 5545/6350 content lines (continuation lines start with a space or tab)."""
    out: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] += line[1:]
        elif line:
            out.append(line)
    return out


def parse_line(line: str) -> tuple[str, dict[str, str], str]:
    """Return (NAME, {PARAM: value}, value) for one content line."""
    head, _, value = line.partition(":")
    if '"' in head:  # a quoted parameter may hold ':'; split again outside quotes
        m = re.match(r'^((?:[^:"]|"[^"]*")*):(.*)$', line)
        if m:
            head, value = m.group(1), m.group(2)
    name, *params = head.split(";")
    pmap = {}
    for p in params:
        k, _, v = p.partition("=")
        pmap[k.upper()] = v.strip('"')
    return name.upper().split(".")[-1], pmap, value


def unescape(v: str) -> str:
    return (
        v.replace("\\n", "\n")
        .replace("\\N", "\n")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
    )


def components(text: str, kind: str) -> Iterator[list[tuple[str, dict[str, str], str]]]:
    """Yield the property lists of each BEGIN:kind ... END:kind block."""
    cur: list[tuple[str, dict[str, str], str]] | None = None
    depth = 0
    for line in unfold(text):
        name, params, value = parse_line(line)
        if name == "BEGIN" and value.upper() == kind:
            cur, depth = [], 0
        elif cur is not None and name == "BEGIN":
            depth += 1  # e.g. a VALARM inside a VEVENT
        elif cur is not None and name == "END" and value.upper() == kind and depth == 0:
            yield cur
            cur = None
        elif cur is not None and name == "END":
            depth -= 1
        elif cur is not None and depth == 0:
            cur.append((name, params, value))


def ics_time(value: str, params: dict[str, str]) -> float | None:
    """Return unix seconds for an iCalendar DATE or DATE-TIME (UTC 'Z', TZID or floating: local)."""
    v = value.strip()
    try:
        if len(v) == 8 or params.get("VALUE") == "DATE":
            d = date(int(v[:4]), int(v[4:6]), int(v[6:8]))
            return datetime(d.year, d.month, d.day).timestamp()
        dt = datetime.strptime(v[:15], "%Y%m%dT%H%M%S")
        if v.endswith("Z"):
            return dt.replace(tzinfo=timezone.utc).timestamp()
        tzid = params.get("TZID")
        if tzid:
            try:
                from zoneinfo import ZoneInfo

                return dt.replace(tzinfo=ZoneInfo(tzid)).timestamp()
            except Exception:  # unknown zone name: treat as local time
                pass
        return dt.timestamp()
    except (ValueError, IndexError):
        return None


def _person(value: str, params: dict[str, str]) -> str:
    cn = params.get("CN", "").strip()
    if cn:
        return cn
    return re.sub(r"^mailto:", "", value.strip(), flags=re.I)


def _files(ctx: ConnectorContext, suffixes: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for raw in ctx.settings.paths:
        base = Path(raw)
        if base.is_file() and base.suffix.lower() in suffixes:
            out.append(base)
        elif base.is_dir():
            out += [p for p in base.rglob("*") if p.suffix.lower() in suffixes and p.is_file()]
        if len(out) >= MAX_FILES:
            break
    return sorted(out)[:MAX_FILES]


class _FolderConnector:
    suffixes: tuple[str, ...] = ()
    app = ""
    refresh: float | None = None

    def events(self, text: str, path: Path, ctx: ConnectorContext) -> list[dict[str, Any]]:
        raise NotImplementedError

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        stamps: dict[str, Any] = dict(cursor.get("files", {}))
        epoch = int(ctx.now // self.refresh) if self.refresh else 0
        stale = self.refresh is not None and cursor.get("epoch") != epoch
        items: list[Item] = []
        files = _files(ctx, self.suffixes)
        for p in files:
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            stamp = [st.st_mtime_ns, st.st_size]
            if stamps.get(str(p)) == stamp and not stale:
                continue
            text = p.read_text(encoding="utf-8", errors="replace")
            for ev in self.events(text, p, ctx):
                ev["idempotency_key"] = idem(ev.pop("_key"), epoch)
                items.append(Item(self.app, ev))
            stamps[str(p)] = stamp
        present = {str(p) for p in files}
        stamps = {k: v for k, v in stamps.items() if k in present}
        return Reading(
            tuple(items), {"files": stamps, "epoch": epoch}, f"{len(files)} files, {len(items)} events"
        )


class Calendar(_FolderConnector):
    """Meetings from .ics files."""

    name = "calendar"
    app = "connector:calendar"
    interval = 600.0
    description = "meetings in .ics files in the folders you list (attendees become people)"
    suffixes = (".ics",)

    def events(self, text: str, path: Path, ctx: ConnectorContext) -> list[dict[str, Any]]:
        out = []
        for props in components(text, "VEVENT"):
            first: dict[str, tuple[dict[str, str], str]] = {}
            people: list[str] = []
            for name, params, value in props:
                first.setdefault(name, (params, value))
                if name in ("ATTENDEE", "ORGANIZER"):
                    who = _person(value, params)
                    if who and who not in people:
                        people.append(who)
            summary = unescape(first.get("SUMMARY", ({}, ""))[1]).strip() or "(untitled meeting)"
            start = ics_time(first["DTSTART"][1], first["DTSTART"][0]) if "DTSTART" in first else None
            loc = unescape(first.get("LOCATION", ({}, ""))[1]).strip()
            desc = unescape(first.get("DESCRIPTION", ({}, ""))[1]).strip()
            when = datetime.fromtimestamp(start).strftime("%a %Y-%m-%d %H:%M") if start else "unknown time"
            body = f"meeting at {when}"
            if people:
                body += " with " + ", ".join(people)
            if loc:
                body += f" in {loc}"
            if desc:
                body += f"\n{desc[:2000]}"
            uid = first.get("UID", ({}, ""))[1] or f"{path}:{summary}:{start}"
            rev = first.get("LAST-MODIFIED", first.get("DTSTAMP", ({}, "")))[1]
            # A meeting to come is recorded now (memory holds no future events); a past one when it began.
            created = min(start, ctx.now) if start else ctx.now
            out.append(
                {
                    "kind": "calendar",
                    "title": summary[:500],
                    "body": body,
                    "uri": f"file://{path}",
                    "entities": {"people": people[:50], "places": [loc] if loc else []},
                    "created": created,
                    "_key": f"{uid}|{start}|{rev}",
                }
            )
        return out


class Contacts(_FolderConnector):
    """People from .vcf files."""

    name = "contacts"
    app = "connector:contacts"
    interval = 600.0
    description = "people in .vcf files in the folders you list (names, phones, emails)"
    suffixes = (".vcf", ".vcard")
    refresh = REFRESH

    def events(self, text: str, path: Path, ctx: ConnectorContext) -> list[dict[str, Any]]:
        out = []
        for props in components(text, "VCARD"):
            fn = ""
            lines = []
            uid = ""
            for name, params, value in props:
                v = unescape(value).strip()
                if name == "FN":
                    fn = v
                elif name == "N" and not fn:
                    parts = [x for x in v.split(";") if x]
                    fn = " ".join(reversed(parts[:2]))
                elif name == "TEL":
                    kind = params.get("TYPE", "").lower()
                    lines.append(f"phone number{f' ({kind})' if kind else ''}: {v}")
                elif name == "EMAIL":
                    lines.append(f"email: {v}")
                elif name == "ORG":
                    lines.append(f"works at {v.replace(';', ', ')}")
                elif name == "TITLE":
                    lines.append(f"job title: {v}")
                elif name == "ADR":
                    adr = ", ".join(x for x in v.split(";") if x)
                    if adr:
                        lines.append(f"address: {adr}")
                elif name == "BDAY":
                    lines.append(f"birthday: {v}")
                elif name == "NOTE":
                    lines.append(v[:1000])
                elif name == "UID":
                    uid = v
            if not fn:
                continue
            out.append(
                {
                    "kind": "contact",
                    "title": fn[:500],
                    "body": "\n".join(lines)[:8000],
                    "uri": f"file://{path}",
                    "entities": {"people": [fn]},
                    "created": ctx.now,
                    "_key": f"{uid or fn}|{'|'.join(lines)}",
                }
            )
        return out


__all__ = ["Calendar", "Contacts", "components", "ics_time", "unfold"]
