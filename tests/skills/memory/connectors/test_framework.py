"""The connector framework on real SQLCipher files: cursor across restarts, the apps' ingest path
(redaction, idempotency), pause, forget, excluded paths, settings, and the daemon's scheduler."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from skills.memory import Caller, ForgetOptions
from skills.memory.connectors.base import FakeConnector, Item, Reading
from skills.memory.connectors.config import ConnectorConfig
from skills.memory.connectors.privacy import check_listed, excluded
from skills.memory.connectors.runner import load_status, run_once
from skills.memory.connectors.base import ConnectorError

from tests.skills.memory.connectors.helpers import events_of

NOTES = [
    {"kind": "note", "title": "Plan the offsite", "body": "book rooms", "idempotency_key": "n1"},
    {
        "kind": "note",
        "title": "Wifi",
        "body": "the password: hunter2xyz is on the fridge",
        "idempotency_key": "n2",
    },
]


def test_cursor_survives_a_restart_and_nothing_is_imported_twice(
    make_memory: Any, ctx_for: Callable[..., Any]
) -> None:
    mem = make_memory("c.db")
    conn = FakeConnector(list(NOTES))
    first = run_once(mem, conn, ctx_for())
    assert (first.read, first.stored, first.duplicates) == (2, 2, 0)
    stored = events_of(mem, "connector:fake")
    assert {e.title for e in stored} == {"Plan the offsite", "Wifi"}
    # the same ingest path as apps: redaction applied
    wifi = next(e for e in stored if e.title == "Wifi")
    assert "hunter2xyz" not in wifi.body and wifi.redactions >= 1
    mem.close()
    # a restart: a new skill on the same file, a new connector instance
    mem2 = make_memory("c.db")
    conn2 = FakeConnector([*NOTES, {"kind": "note", "title": "Call the venue", "idempotency_key": "n3"}])
    again = run_once(mem2, conn2, ctx_for())
    assert (again.read, again.stored) == (1, 1)
    assert len(events_of(mem2, "connector:fake")) == 3
    st = load_status(mem2, "fake")
    assert st["total"] == 3 and st["runs"] == 2 and st["last"] == "Call the venue"


def test_idempotency_keys_stop_a_replayed_cursor_from_duplicating(
    make_memory: Any, ctx_for: Callable[..., Any]
) -> None:
    mem = make_memory()
    run_once(mem, FakeConnector(list(NOTES)), ctx_for())
    mem.store.set_meta("connector.fake.cursor", "{}")  # as if the cursor were lost
    r = run_once(mem, FakeConnector(list(NOTES)), ctx_for())
    assert (r.stored, r.duplicates) == (0, 2)
    assert len(events_of(mem)) == 2


def test_pause_stops_reading_and_resume_picks_up(make_memory: Any, ctx_for: Callable[..., Any]) -> None:
    mem = make_memory()
    conn = FakeConnector(list(NOTES))
    mem.pause(Caller.user())
    r = run_once(mem, conn, ctx_for())
    assert r.paused and conn.reads == 0 and events_of(mem) == []
    assert load_status(mem, "fake")["paused"] is True
    mem.resume(Caller.user())
    assert run_once(mem, conn, ctx_for()).stored == 2


def test_forget_removes_a_connectors_events_and_they_do_not_come_back(
    make_memory: Any, ctx_for: Callable[..., Any]
) -> None:
    mem = make_memory()
    conn = FakeConnector(list(NOTES))
    run_once(mem, conn, ctx_for())
    mem.push(Caller("mail"), {"kind": "message", "title": "unrelated"})
    assert mem.forget(Caller.user(), ForgetOptions(app="connector:fake")) == 2
    assert run_once(mem, conn, ctx_for()).stored == 0
    assert [e.app for e in events_of(mem)] == ["mail"]


class _Leaky:
    name = "leaky"
    app = "connector:leaky"
    interval = 1.0
    description = "returns paths it must not"

    def __init__(self, home: Path, own: Path) -> None:
        self.paths = [
            home / ".ssh" / "id_ed25519",
            home / "vault.kdbx",
            home / ".password-store" / "bank.gpg",
            home / ".mozilla" / "firefox" / "abc.private-window" / "places.sqlite",
            own / "memory.db",
            home / "notes.txt",
        ]

    def read(self, ctx: Any, cursor: Any) -> Reading:
        return Reading(
            tuple(
                Item(self.app, {"kind": "file_opened", "title": p.name, "uri": f"file://{p}"})
                for p in self.paths
            ),
            {},
        )


def test_excluded_paths_never_reach_memory(
    make_memory: Any, ctx_for: Callable[..., Any], home: Path, tmp_path: Path
) -> None:
    mem = make_memory()
    r = run_once(mem, _Leaky(home, tmp_path / "assistant-data"), ctx_for())
    assert (r.read, r.dropped, r.stored) == (6, 5, 1)
    assert [e.title for e in events_of(mem)] == ["notes.txt"]
    # a symlink into ~/.ssh is excluded by where it leads
    (home / ".ssh").mkdir()
    (home / ".ssh" / "config").write_text("Host x")
    (home / "innocent").symlink_to(home / ".ssh")
    assert excluded(home / "innocent" / "config", home) is not None
    assert excluded(home / "Documents" / "private-notes.txt", home) is None


@pytest.mark.parametrize("bad", ["~/.ssh", "~/.gnupg/", "~/.password-store/work", "~/secrets.kdbx"])
def test_listing_an_excluded_path_is_refused_with_the_reason(bad: str) -> None:
    with pytest.raises(ConnectorError) as err:
        check_listed((bad,), Path.home())
    assert "cannot be included" in err.value.message and err.value.fix


def test_settings_persist_off_by_default(tmp_path: Path) -> None:
    cfg = ConnectorConfig(tmp_path / "config")
    assert cfg.get("browser").enabled is False
    cfg.update("git", enabled=True, paths=("/src/app",))
    again = ConnectorConfig(tmp_path / "config")
    assert again.get("git").enabled and again.get("git").paths == ("/src/app",)
    assert (tmp_path / "config" / "connectors.json").stat().st_mode & 0o777 == 0o600
    (tmp_path / "config" / "connectors.json").write_text("{nope")
    from runtime.errors import ConfigError

    with pytest.raises(ConfigError):
        again.load()


XBEL = """<?xml version="1.0" encoding="UTF-8"?>
<xbel version="1.0" xmlns:bookmark="http://www.freedesktop.org/standards/desktop-bookmarks"
      xmlns:mime="http://www.freedesktop.org/standards/shared-mime-info">
  <bookmark href="file://{path}" added="{t}" modified="{t}" visited="{t}">
    <info><metadata owner="http://freedesktop.org">
      <mime:mime-type type="text/plain"/>
      <bookmark:applications>
        <bookmark:application name="gedit" exec="&apos;gedit %u&apos;" modified="{t}" count="1"/>
      </bookmark:applications>
    </metadata></info>
  </bookmark>
</xbel>
"""


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_the_daemon_scheduler_runs_enabled_connectors_and_stops_disabled_ones(
    make_memory: Any, tmp_path: Path, home: Path
) -> None:
    from assistant.daemon.connectors import ConnectorScheduler, SchedulerOptions
    from assistant.services import Services
    from runtime.config import Config

    mem = make_memory()
    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path / "ah")})
    services = Services(cfg, overrides={"memory": mem})
    xbel = home / "recently-used.xbel"
    xbel.write_text(XBEL.format(path=home / "report.txt", t=_iso(time.time() - 60)))
    conf = ConnectorConfig(cfg.config_dir)

    async def scenario() -> int:
        sched = ConnectorScheduler(services, SchedulerOptions(poll=0.05))
        sched.start()
        await asyncio.sleep(0.2)
        assert sched.tasks == {}  # nothing enabled: nothing runs, memory is not touched
        conf.update("recent-files", enabled=True, paths=(str(xbel),), interval=1.0)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if events_of(mem):
                break
        assert "recent-files" in sched.tasks
        conf.update("recent-files", enabled=False)
        await asyncio.sleep(0.3)
        assert sched.tasks == {}
        await sched.stop()
        return sched.runs

    assert asyncio.run(scenario()) >= 1
    evs = events_of(mem)
    assert [(e.app, e.title) for e in evs] == [("gedit", "report.txt")]


def test_forget_a_connector_covers_every_app_it_stored_under(
    make_memory: Any, ctx_for: Callable[..., Any], home: Path
) -> None:
    from skills.memory.connectors.recent import RecentFiles
    from skills.memory.connectors.runner import forget

    xbel = home / "recently-used.xbel"
    xbel.write_text(XBEL.format(path=home / "a.txt", t=_iso(time.time() - 60)))
    mem = make_memory()
    mem.push(Caller("mail"), {"kind": "message", "title": "keep me"})
    assert run_once(mem, RecentFiles(), ctx_for(xbel)).stored == 1
    assert load_status(mem, "recent-files")["apps"] == ["gedit"]
    assert forget(mem, RecentFiles(), Caller.user()) == 1
    assert [e.title for e in events_of(mem)] == ["keep me"]
    assert load_status(mem, "recent-files") == {}


def test_a_running_daemon_runs_enabled_connectors(make_memory: Any, tmp_path: Path, home: Path) -> None:
    from assistant.services import Services
    from runtime.config import Config
    from tests.daemon.helpers import start_daemon, stop_daemon

    root = tmp_path / "d"
    cfg = Config.from_env({"ASSISTANT_HOME": str(root)})
    xbel = home / "recently-used.xbel"
    xbel.write_text(XBEL.format(path=home / "minutes.odt", t=_iso(time.time() - 30)))
    ConnectorConfig(cfg.config_dir).update("recent-files", enabled=True, paths=(str(xbel),))
    mem = make_memory()
    services = Services(cfg, overrides={"memory": mem})
    d = start_daemon(root, services)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not events_of(mem):
            time.sleep(0.1)
        assert [(e.app, e.title) for e in events_of(mem)] == [("gedit", "minutes.odt")]
        assert "recent-files" in d.app.state.connectors.tasks
    finally:
        stop_daemon(d)
    assert d.app.state.connectors.tasks == {}  # stopped with the server
