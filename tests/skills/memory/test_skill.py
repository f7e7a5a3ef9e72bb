"""Push, search, resolve, scopes, forget, expiry and pause on realistic multi-app data (real SQLCipher files)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from skills.memory import (
    BrowseOptions,
    Caller,
    CapturePaused,
    EventIn,
    Filters,
    ForgetOptions,
    InvalidEvent,
    Retention,
    ScopeDenied,
    SearchOptions,
)
from skills.memory.store import MIGRATIONS
from tests.skills.memory.helpers import DAY, seed_day


def in_every_index(mem: Any, eid: int) -> dict[str, bool]:
    s = mem.store
    return {
        "events": bool(s.query("SELECT 1 FROM events WHERE id = ?", (eid,))),
        "fts": bool(s.query("SELECT 1 FROM events_fts WHERE rowid = ?", (eid,))),
        "embeddings": bool(s.query("SELECT 1 FROM embeddings WHERE event_id = ?", (eid,))),
        "vectors": mem.searcher.index is not None and mem.searcher.index.vector(eid) is not None,
    }


def test_multi_app_push_search_resolve(make_memory: Any) -> None:
    mem = make_memory()
    ids = seed_day(mem)
    assert mem.wait_embedded(10)
    user = Caller.user()
    hits = mem.search(user, "who sent me the contract?", SearchOptions(mode="keyword"))
    assert hits[0].event.id in (ids["contract_mail"], ids["meeting"])
    assert {h.event.id for h in hits[:2]} == {ids["contract_mail"], ids["meeting"]}
    assert "Ana Lima" in hits[[h.event.id for h in hits].index(ids["contract_mail"])].event.entities.people
    assert hits[0].event.citation() == f"[mem:{hits[0].event.id}]"
    # filters: app, kind and time range
    only_mail = mem.search(user, "contract", SearchOptions(mode="keyword", filters=Filters(apps=("mail",))))
    assert [h.event.id for h in only_mail] == [ids["contract_mail"]]
    cal = mem.search(user, "contract", SearchOptions(filters=Filters(kinds=("calendar",))))
    assert [h.event.id for h in cal] == [ids["meeting"]]
    old = mem.search(user, "lunch friday", SearchOptions(filters=Filters(until=time.time() - DAY)))
    assert [h.event.id for h in old] == [ids["lunch_mail"]]
    assert mem.search(user, "lunch friday", SearchOptions(filters=Filters(since=time.time() - DAY))) == []
    # hybrid adds cosine: the recipe is found by a word that is only in its body
    hyb = mem.search(user, "cumin", SearchOptions(mode="hybrid"))
    assert hyb[0].event.id == ids["recipe"] and hyb[0].cosine > 0.1

    pdf = mem.resolve(user, "the PDF I had open yesterday in the browser")
    assert pdf[0].event.id == ids["pdf_yesterday"]
    assert any(".pdf" in r for r in pdf[0].reasons) and any("browser" in r for r in pdf[0].reasons)
    assert any(r.startswith("yesterday") for r in pdf[0].reasons)
    that_file = mem.resolve(user, "that file")
    assert that_file[0].event.id == ids["budget_file"]  # the most recent file wins
    assert that_file[1].event.id == ids["old_file"]
    her = mem.resolve(user, "her")
    assert her[0].entity == "Ana Lima" and any("person" in r for r in her[0].reasons)
    assert {c.entity for c in her} >= {"Ana Lima", "Bruno Costa", "Carla Mendes"}
    browse = mem.browse(user, BrowseOptions(Filters(apps=("files",))))
    assert [e.id for e in browse] == [ids["budget_file"], ids["old_file"]]
    page2 = mem.browse(
        user, BrowseOptions(limit=3, before_id=mem.browse(user, BrowseOptions(limit=3))[-1].id)
    )
    assert [e.id for e in page2] == [ids["recipe"], ids["pdf_yesterday"], ids["lunch_mail"]]


def test_second_app_cannot_read_first_apps_events_without_a_grant(make_memory: Any) -> None:
    mem = make_memory()
    ids = seed_day(mem)
    browser, mail = Caller("firefox"), Caller("mail")
    assert mem.search(browser, "contract") == []
    assert mem.resolve(browser, "her") == []
    assert mem.get(browser, ids["contract_mail"]) is None
    assert all(e.app == "firefox" for e in mem.browse(browser))
    with pytest.raises(ScopeDenied, match="cannot read events of 'mail'"):
        mem.search(browser, "contract", SearchOptions(filters=Filters(apps=("mail",))))
    assert [h.event.id for h in mem.search(mail, "contract")] == [ids["contract_mail"]]
    # memory:read and memory:write are separate scopes
    write_only = Caller("firefox", frozenset({"memory:write"}))
    with pytest.raises(ScopeDenied, match="memory:read"):
        mem.search(write_only, "recipe")
    with pytest.raises(ScopeDenied, match="memory:write"):
        mem.push(Caller("mail", frozenset({"memory:read"})), {"kind": "note", "title": "x"})
    with pytest.raises(ScopeDenied, match="cannot push events as"):
        mem.push(browser, {"kind": "note", "title": "x", "app": "mail"})
    with pytest.raises(ScopeDenied):
        mem.grant(browser, "firefox")
    mem.grant(Caller.user(), "firefox")
    assert ids["contract_mail"] in {h.event.id for h in mem.search(browser, "contract")}
    mem.revoke(Caller.user(), "firefox")
    assert mem.search(browser, "contract") == []
    assert ids["contract_mail"] in {
        h.event.id for h in mem.search(Caller("mail2", cross_app=True), "contract")
    }
    # an app forgets only its own events
    assert mem.forget(browser, ForgetOptions(app=None, since=0)) == 2
    assert mem.get(Caller.user(), ids["contract_mail"]) is not None
    with pytest.raises(ScopeDenied):
        mem.forget(browser, ForgetOptions(app="mail"))


def test_idempotency_keys_never_duplicate(make_memory: Any) -> None:
    mem = make_memory()
    app = Caller("mail")
    ev = {"kind": "message", "title": "Invoice 42", "idempotency_key": "msg-42"}
    first = mem.push(app, ev)
    again = mem.push(app, ev)
    assert again.id == first.id and again.duplicate and not first.duplicate
    batch = mem.push_batch(
        app,
        [
            ev,
            {"kind": "note", "title": "a", "idempotency_key": "k1"},
            {"kind": "note", "title": "a", "idempotency_key": "k1"},
            {"kind": "note", "title": "b"},
        ],
    )
    assert batch[0].id == first.id and batch[0].duplicate
    assert batch[2].id == batch[1].id and batch[2].duplicate
    assert len({r.id for r in batch}) == 3
    # the same key from another app is another event
    other = mem.push(Caller("chat"), ev)
    assert other.id != first.id and not other.duplicate
    assert mem.stats(Caller.user())["events"] == 4


@pytest.mark.parametrize(
    "event, message",
    [
        ({"title": "no kind"}, "no kind"),
        ({"kind": "tweet", "title": "x"}, "unknown event kind 'tweet'"),
        ({"kind": "note"}, "no title, body or uri"),
        ({"kind": "note", "title": 5}, "title must be a string"),
        ({"kind": "note", "title": "x", "created": "yesterday"}, "created must be unix seconds"),
        ({"kind": "note", "title": "x", "created": time.time() + 86400}, "in the future"),
        ({"kind": "note", "title": "x", "sensitivity": "top"}, "unknown sensitivity"),
        ({"kind": "note", "title": "x", "entities": {"people": "Ana"}}, "entities.people must be a list"),
        ({"kind": "note", "title": "x", "colour": "red"}, "unknown event field 'colour'"),
        ({"kind": "note", "body": "x" * 70000}, "over the limit"),
    ],
)
def test_malformed_events_get_a_clear_error(make_memory: Any, event: dict[str, Any], message: str) -> None:
    mem = make_memory()
    with pytest.raises(InvalidEvent, match=message) as info:
        mem.push(Caller("app"), event)
    assert info.value.fix
    with pytest.raises(InvalidEvent, match=r"event 1: "):
        mem.push_batch(Caller("app"), [{"kind": "note", "title": "ok"}, event])
    assert mem.stats(Caller.user())["events"] == 0  # a bad batch stores nothing


def test_forget_removes_rows_from_every_index(make_memory: Any) -> None:
    mem = make_memory()
    ids = seed_day(mem)
    assert mem.wait_embedded(10)
    user = Caller.user()
    mem.search(user, "contract", SearchOptions(mode="hybrid"))
    assert all(in_every_index(mem, ids["contract_mail"]).values())
    assert mem.forget(user, ForgetOptions(ids=(ids["contract_mail"],))) == 1
    assert not any(in_every_index(mem, ids["contract_mail"]).values())
    assert ids["contract_mail"] not in {h.event.id for h in mem.search(user, "lease contract Ana")}
    # a whole app
    n = mem.forget(user, ForgetOptions(app="firefox"))
    assert n == 2 and not any(in_every_index(mem, ids["recipe"]).values())
    # a time range
    n = mem.forget(user, ForgetOptions(since=time.time() - 7 * DAY, until=time.time() - 3 * DAY))
    assert n == 2 and not any(in_every_index(mem, ids["old_file"]).values())
    assert in_every_index(mem, ids["budget_file"])["fts"]
    with pytest.raises(InvalidEvent, match="forget needs"):
        mem.forget(user, ForgetOptions())
    assert mem.forget(user, ForgetOptions(everything=True)) == 3
    assert mem.store.query("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'contract'")[0][0] == 0
    assert mem.store.query("PRAGMA integrity_check") == [("ok",)]
    assert mem.store.query("INSERT INTO events_fts(events_fts) VALUES ('integrity-check')") == []


def test_expiry_and_retention_purge_every_index(make_memory: Any) -> None:
    mem = make_memory()
    user, app = Caller.user(), Caller("notes")
    now = time.time()
    short = mem.push(app, {"kind": "note", "title": "ephemeral reminder", "expires": now + 0.5}).id
    clip = mem.push(
        Caller("clipboard"),
        {"kind": "clipboard", "body": "copied tracking number ZX81", "created": now - 2 * DAY},
    ).id
    keep = mem.push(app, {"kind": "note", "title": "keep this reminder"}).id
    assert mem.wait_embedded(10)
    mem.search(user, "reminder")
    assert mem.get(user, clip) is None and in_every_index(mem, clip)["events"]  # expired: invisible at once
    time.sleep(0.6)
    assert [h.event.id for h in mem.search(user, "reminder", SearchOptions(mode="keyword"))] == [keep]
    assert mem.purge_expired() == 2
    for eid in (short, clip):
        assert not any(in_every_index(mem, eid).values())
    assert mem.set_retention(user, Retention(default=30 * DAY, kinds={"note": 60.0})) == 0
    assert mem.purge_expired(now=time.time() + 120) == 1
    assert not any(in_every_index(mem, keep).values())
    with pytest.raises(ScopeDenied):
        mem.set_retention(app, Retention())


def test_pause_refuses_capture_until_resume(make_memory: Any) -> None:
    mem = make_memory()
    mem.pause(Caller.user())
    with pytest.raises(CapturePaused, match="paused"):
        mem.push(Caller("mail"), {"kind": "note", "title": "x"})
    assert mem.stats(Caller.user())["paused"] is True
    with pytest.raises(ScopeDenied):
        mem.resume(Caller("mail"))
    mem.resume(Caller.user())
    assert mem.push(Caller("mail"), EventIn(kind="note", title="x")).id == 1


def test_stats_and_bytes_per_event(make_memory: Any) -> None:
    mem = make_memory()
    seed_day(mem)
    s = mem.stats(Caller.user())
    assert s["events"] == 8 and s["apps"]["mail"] == 2 and s["encrypted"] is True
    assert s["encryption"].startswith("SQLCipher 4") and s["schema_version"] == len(MIGRATIONS)
    assert s["bytes_per_event"] > 0
    assert mem.stats(Caller("mail"))["apps"] == {"mail": 2}
