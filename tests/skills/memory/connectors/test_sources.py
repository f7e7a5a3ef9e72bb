"""Each connector against a real fixture: a subprocess holding a file open, a recently-used.xbel,
Firefox and Chromium history databases with the browsers' schemas, a real git repository, .ics and
.vcf files, and the X11 connectors' answer when there is no display."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from skills.memory import Caller
from skills.memory.connectors.base import Unavailable
from skills.memory.connectors.browser import CHROME_EPOCH, BrowserHistory
from skills.memory.connectors.desktop import Clipboard, FocusedWindow
from skills.memory.connectors.gitlog import GitActivity
from skills.memory.connectors.openfiles import OpenFiles, wanted
from skills.memory.connectors.pim import Calendar, Contacts
from skills.memory.connectors.recent import RecentFiles
from skills.memory.connectors.runner import load_status, run_once

from tests.skills.memory.connectors.helpers import events_of
from .test_framework import XBEL, _iso

HOLDER = """
import socket, sys, os
f = open(sys.argv[1])
g = open(sys.argv[2])
r, w = os.pipe()
s = socket.socket()
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(home: Path) -> Iterator[tuple[subprocess.Popen[str], Path, Path]]:
    doc = home / "Documents" / "quarterly plan.odt"
    doc.parent.mkdir()
    doc.write_text("plan")
    secret = home / ".ssh" / "id_ed25519"
    secret.parent.mkdir()
    secret.write_text("key")
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(doc), str(secret)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    yield p, doc, secret
    p.kill()
    p.wait()


def test_open_files_of_a_running_program(make_memory: Any, ctx_for: Callable[..., Any], holder: Any) -> None:
    proc, doc, secret = holder
    mem = make_memory()
    r = run_once(mem, OpenFiles(), ctx_for())
    assert r.error is None
    evs = [e for e in events_of(mem) if str(proc.pid) in e.body]
    # the document, not the key (excluded), the pipe, the socket, libraries or the interpreter
    assert [e.uri for e in evs] == [f"file://{doc}"]
    assert evs[0].app.startswith("python") and evs[0].kind == "file_opened"
    assert evs[0].title == "quarterly plan.odt"
    # still open on the next run: not recorded again
    assert not [e for e in events_of(mem) if e.id != evs[0].id and e.uri == evs[0].uri]
    run_once(mem, OpenFiles(), ctx_for())
    assert len([e for e in events_of(mem) if e.uri == f"file://{doc}"]) == 1


def test_open_file_filter() -> None:
    assert wanted("/home/u/report.pdf")
    for path in (
        "socket:[123]",
        "pipe:[9]",
        "anon_inode:[eventfd]",
        "/proc/1/status",
        "/dev/null",
        "/sys/kernel/x",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/home/u/.cache/thumbs/a.png",
        "/home/u/.config/app/state.json",
        "/home/u/lib/libfoo.so.1.2",
        "/home/u/a.db-wal",
        "/home/u/old.txt (deleted)",
    ):
        assert not wanted(path), path


def test_recently_used_xbel_with_the_app_that_opened_each_file(
    make_memory: Any, ctx_for: Callable[..., Any], home: Path
) -> None:
    data = home / ".local" / "share"
    data.mkdir(parents=True)
    xbel = data / "recently-used.xbel"
    t0 = time.time() - 3600
    two = XBEL.format(path=home / "budget.ods", t=_iso(t0)).replace(
        "</bookmark:applications>",
        f'<bookmark:application name="LibreOffice Calc" exec="&apos;localc %u&apos;" modified="{_iso(t0 + 60)}" count="3"/>'
        "</bookmark:applications>",
    )
    xbel.write_text(two)
    mem = make_memory()
    r = run_once(mem, RecentFiles(), ctx_for())
    assert (r.read, r.stored) == (2, 2)
    apps = sorted((e.app, e.title) for e in events_of(mem))
    assert apps == [("gedit", "budget.ods"), ("libreoffice-calc", "budget.ods")]
    # unchanged file: nothing read
    assert run_once(mem, RecentFiles(), ctx_for()).read == 0
    # a newer use of another file
    xbel.write_text(
        two.replace("</xbel>", "")
        + XBEL.format(path=home / "notes.md", t=_iso(time.time() - 5)).split("?>", 1)[1].split(">", 1)[1]
    )
    r = run_once(mem, RecentFiles(), ctx_for())
    assert (r.read, r.stored) == (1, 1) and load_status(mem, "recent-files")["last"] == "notes.md"


FIREFOX_SCHEMA = """
CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, rev_host LONGVARCHAR,
  visit_count INTEGER DEFAULT 0, hidden INTEGER DEFAULT 0 NOT NULL, typed INTEGER DEFAULT 0 NOT NULL,
  frecency INTEGER DEFAULT -1 NOT NULL, last_visit_date INTEGER, guid TEXT, foreign_count INTEGER DEFAULT 0 NOT NULL,
  url_hash INTEGER DEFAULT 0 NOT NULL, description TEXT, preview_image_url TEXT, site_name TEXT,
  origin_id INTEGER, recalc_frecency INTEGER NOT NULL DEFAULT 0, alt_frecency INTEGER,
  recalc_alt_frecency INTEGER NOT NULL DEFAULT 0);
CREATE TABLE moz_historyvisits (id INTEGER PRIMARY KEY, from_visit INTEGER, place_id INTEGER,
  visit_date INTEGER, visit_type INTEGER, session INTEGER, source INTEGER DEFAULT 0 NOT NULL,
  triggeringPlaceId INTEGER);
"""
CHROMIUM_SCHEMA = """
CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT,url LONGVARCHAR,title LONGVARCHAR,
  visit_count INTEGER DEFAULT 0 NOT NULL,typed_count INTEGER DEFAULT 0 NOT NULL,last_visit_time INTEGER NOT NULL,
  hidden INTEGER DEFAULT 0 NOT NULL);
CREATE TABLE visits(id INTEGER PRIMARY KEY AUTOINCREMENT,url INTEGER NOT NULL,visit_time INTEGER NOT NULL,
  from_visit INTEGER,external_referrer_url TEXT,transition INTEGER DEFAULT 0 NOT NULL,segment_id INTEGER,
  visit_duration INTEGER DEFAULT 0 NOT NULL,incremented_omnibox_typed_score BOOLEAN DEFAULT FALSE NOT NULL,
  opener_visit INTEGER,originator_cache_guid TEXT,originator_visit_id INTEGER,originator_from_visit INTEGER,
  originator_opener_visit INTEGER,is_known_to_sync BOOLEAN DEFAULT FALSE NOT NULL,
  consider_for_ntp_most_visited BOOLEAN DEFAULT FALSE NOT NULL,visited_link_id INTEGER DEFAULT 0 NOT NULL,
  app_id TEXT);
"""


def _firefox_visit(db: Path, vid: int, url: str, title: str, when: float) -> None:
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")  # as Firefox keeps it: recent visits may sit in the -wal
    con.execute(
        "INSERT OR IGNORE INTO moz_places (id, url, title, last_visit_date, guid) VALUES (?,?,?,?,?)",
        (vid, url, title, int(when * 1e6), f"g{vid}"),
    )
    con.execute(
        "INSERT INTO moz_historyvisits (id, place_id, visit_date, visit_type) VALUES (?,?,?,1)",
        (vid, vid, int(when * 1e6)),
    )
    con.commit()
    con.close()


def _chromium_visit(db: Path, vid: int, url: str, title: str, when: float) -> None:
    t = int((when + CHROME_EPOCH) * 1e6)
    con = sqlite3.connect(db)
    con.execute("INSERT INTO urls (id, url, title, last_visit_time) VALUES (?,?,?,?)", (vid, url, title, t))
    con.execute(
        "INSERT INTO visits (id, url, visit_time, transition) VALUES (?,?,?,805306368)", (vid, vid, t)
    )
    con.commit()
    con.close()


def test_browser_history_incremental_from_a_copy(
    make_memory: Any, ctx_for: Callable[..., Any], home: Path
) -> None:
    ff = home / ".mozilla" / "firefox" / "abcd.default-release"
    ff.mkdir(parents=True)
    con = sqlite3.connect(ff / "places.sqlite")
    con.executescript(FIREFOX_SCHEMA)
    con.close()
    ch = home / ".config" / "chromium" / "Default"
    ch.mkdir(parents=True)
    con = sqlite3.connect(ch / "History")
    con.executescript(CHROMIUM_SCHEMA)
    con.close()
    private = home / ".mozilla" / "firefox" / "x.private"
    private.mkdir()
    con = sqlite3.connect(private / "places.sqlite")
    con.executescript(FIREFOX_SCHEMA)
    con.close()
    now = time.time()
    _firefox_visit(ff / "places.sqlite", 1, "https://example.org/budget", "Budget guide", now - 7200)
    _firefox_visit(ff / "places.sqlite", 2, "about:newtab", "New Tab", now - 7100)
    _chromium_visit(ch / "History", 1, "https://news.example/story", "A story", now - 3600)
    _firefox_visit(private / "places.sqlite", 1, "https://secret.example/", "Private thing", now - 60)
    mem = make_memory()
    r = run_once(mem, BrowserHistory(), ctx_for())
    assert r.error is None and r.stored == 2, r
    got = sorted((e.title, round(e.created)) for e in events_of(mem))
    assert got == [("A story", round(now - 3600)), ("Budget guide", round(now - 7200))]
    assert all(e.app == "connector:browser" for e in events_of(mem))
    # nothing new: nothing stored; a new visit: only it
    assert run_once(mem, BrowserHistory(), ctx_for()).stored == 0
    _firefox_visit(ff / "places.sqlite", 3, "https://example.org/final", "Final budget", now - 30)
    r = run_once(mem, BrowserHistory(), ctx_for())
    assert (r.read, r.stored) == (1, 1)
    assert not [e for e in events_of(mem) if "secret.example" in e.uri]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "Ana Lima",
            "GIT_AUTHOR_EMAIL": "ana@example.org",
            "GIT_COMMITTER_NAME": "Ana Lima",
            "GIT_COMMITTER_EMAIL": "ana@example.org",
            "HOME": str(repo),
            "PATH": "/usr/bin:/bin",
        },
    )


def test_git_commits_and_branch_switches(make_memory: Any, ctx_for: Callable[..., Any], home: Path) -> None:
    repo = home / "src" / "webapp"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("1")
    _git(repo, "add", "a.txt")
    _git(repo, "commit", "-q", "-m", "Initial import")
    _git(repo, "checkout", "-q", "-b", "login-page")
    (repo / "a.txt").write_text("2")
    _git(repo, "commit", "-q", "-am", "Add the login form")
    _git(repo, "checkout", "-q", "main")
    mem = make_memory()
    r = run_once(mem, GitActivity(), ctx_for(repo))
    titles = [e.title for e in sorted(events_of(mem), key=lambda e: e.id)]
    assert titles == [
        "commit in webapp: Initial import",
        "switched to branch login-page in webapp (from main)",
        "commit in webapp: Add the login form",
        "switched to branch main in webapp (from login-page)",
    ], titles
    assert r.stored == 4 and events_of(mem)[0].entities.people == ("Ana Lima",)
    assert run_once(mem, GitActivity(), ctx_for(repo)).read == 0
    (repo / "b.txt").write_text("3")
    _git(repo, "add", "b.txt")
    _git(repo, "commit", "-q", "-m", "Fix the footer")
    r = run_once(mem, GitActivity(), ctx_for(repo))
    assert r.stored == 1 and r.last == "commit in webapp: Fix the footer"


ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//EN\r
BEGIN:VEVENT\r
UID:q3-review-1@example.org\r
DTSTAMP:20260101T090000Z\r
DTSTART:{start}\r
DTEND:{end}\r
SUMMARY:Q3 budget review\r
LOCATION:Room 4\r
ORGANIZER;CN=Bruno Costa:mailto:bruno@example.org\r
ATTENDEE;CN="Ana Lima";ROLE=REQ-PARTICIPANT:mailto:ana@example.org\r
ATTENDEE;CN=Carla Mendes:mailto:carla@example.org\r
DESCRIPTION:Go over the numbers\\, then the hiring plan\r
  for next quarter.\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:Reminder\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:dentist@example.org\r
DTSTART;VALUE=DATE:{day}\r
SUMMARY:Dentist\r
END:VEVENT\r
END:VCALENDAR\r
"""
VCF = """BEGIN:VCARD
VERSION:3.0
FN:Ana Lima
N:Lima;Ana;;;
TEL;TYPE=cell:+351 912 345 678
EMAIL:ana@example.org
ORG:Acme;Finance
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Bruno Costa
TEL;TYPE=work:+44 20 7946 0958
END:VCARD
"""


def test_calendar_and_contacts_make_people_resolvable(
    make_memory: Any, ctx_for: Callable[..., Any], home: Path
) -> None:
    cal = home / "Calendars"
    cal.mkdir()
    start = time.time() - 5 * 3600
    fmt = "%Y%m%dT%H%M%SZ"
    (cal / "work.ics").write_text(
        ICS.format(
            start=time.strftime(fmt, time.gmtime(start)),
            end=time.strftime(fmt, time.gmtime(start + 3600)),
            day=time.strftime("%Y%m%d", time.localtime(time.time() - 86400)),
        )
    )
    people = home / "Contacts"
    people.mkdir()
    (people / "all.vcf").write_text(VCF)
    mem = make_memory()
    assert run_once(mem, Calendar(), ctx_for(cal)).stored == 2
    assert run_once(mem, Contacts(), ctx_for(people)).stored == 2
    meeting = next(e for e in events_of(mem) if e.title == "Q3 budget review")
    assert meeting.entities.people == ("Bruno Costa", "Ana Lima", "Carla Mendes")
    assert meeting.entities.places == ("Room 4",) and abs(meeting.created - start) < 1
    assert "then the hiring plan for next quarter" in meeting.body
    assert run_once(mem, Calendar(), ctx_for(cal)).read == 0  # unchanged files are not parsed
    user = Caller.user()
    top = mem.resolve(user, "the meeting with Carla")[0]
    assert top.event.title == "Q3 budget review"
    phone = mem.resolve(user, "Ana's phone number")[0]
    assert (
        phone.event.kind == "contact"
        and phone.event.title == "Ana Lima"
        and "912 345 678" in phone.event.body
    )
    assert phone.entity == "Ana Lima"


def test_window_and_clipboard_say_why_without_a_display(
    ctx_for: Callable[..., Any], make_memory: Any
) -> None:
    for conn in (FocusedWindow(), Clipboard()):
        with pytest.raises(Unavailable) as err:
            conn.read(ctx_for(env={}), {})
        assert "no display" in err.value.message and "$DISPLAY" in err.value.message
        with pytest.raises(Unavailable) as err:
            conn.read(ctx_for(env={"WAYLAND_DISPLAY": "wayland-0"}), {})
        assert "Wayland" in err.value.message
    mem = make_memory()
    r = run_once(mem, FocusedWindow(), ctx_for(env={}))
    assert r.error and "no display" in r.error and load_status(mem, "window")["error"] == r.error
