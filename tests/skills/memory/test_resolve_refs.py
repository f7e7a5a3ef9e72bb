"""Reference resolution on real SQLCipher files: time words, distinguishing title words, person
answers, pronouns and conversation context, and kinds implied by words; and context through the daemon."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from skills.memory import Caller
from skills.memory.reftime import parse_time
from skills.memory.resolve import looks_like_reference
from skills.memory.text import day_start

H = 3600.0
DAY = 86400.0


def _seed(mem: Any, now: float) -> dict[str, int]:
    """Push the week these tests resolve against; return each event's id by key."""
    ids: dict[str, int] = {}

    def put(key: str, app: str, kind: str, title: str, created: float, **ev: Any) -> None:
        ids[key] = mem.push(Caller(app), {"kind": kind, "title": title, "created": created, **ev}).id

    def opened(key: str, app: str, name: str, ago: float) -> None:
        put(key, app, "file_opened", name, now - ago, uri=f"file:///d/{name}")

    def message(key: str, app: str, title: str, body: str, created: float, **entities: list[str]) -> None:
        put(key, app, "message", title, created, body=body, entities=entities)

    opened("draft", "libreoffice", "budget-draft.xlsx", 3 * DAY)
    opened("final", "libreoffice", "budget-final.xlsx", 40 * 60)
    opened("v3", "writer", "plan-v3.docx", 4 * DAY)
    opened("v4", "writer", "plan-v4.docx", 3 * DAY)
    opened("few", "libreoffice", "forecast.ods", 4 * H)
    opened("old_sheet", "libreoffice", "roster.ods", 30 * H)
    message(
        "pdf_mail",
        "mail",
        "Signed lease",
        "attached",
        day_start(now) - 2 * DAY + 11 * H,
        people=["Ana Lima"],
        files=["lease.pdf"],
    )
    message(
        "pdf_mail_new",
        "mail",
        "Receipt",
        "attached",
        now - 3 * H,
        people=["Bruno Costa"],
        files=["receipt.pdf"],
    )
    message(
        "ask", "slack", "hiring", "Could you send me the hiring plan?", now - 2 * DAY, people=["Dana Weiss"]
    )
    opened("plan_file", "writer", "hiring-plan.docx", 1 * H)
    message("carla", "slack", "trip", "Flights are booked", now - 5 * H, people=["Carla Mendes"])
    put(
        "page",
        "connector:browser",
        "url",
        "Sourdough starter guide",
        now - 6 * H,
        uri="https://b.example/sourdough",
        body="visited in Firefox",
    )
    return ids


@pytest.mark.parametrize(
    "phrase,key",
    [
        ("the draft budget spreadsheet", "draft"),
        ("the final budget", "final"),
        ("v4 of the plan", "v4"),
        ("the spreadsheet I had open a few hours ago", "few"),
        ("the spreadsheet from yesterday", "old_sheet"),
        ("the PDF from the mail two days ago", "pdf_mail"),
        ("the page I read about sourdough", "page"),
    ],
)
def test_references_resolve_to_the_event_meant(make_memory: Any, phrase: str, key: str) -> None:
    # "now" is yesterday at 15:00: the same hour of the day whenever the suite runs (at 00:13 the
    # real clock put "30 hours ago" two days back and "4 hours ago" yesterday)
    lt = time.localtime(time.time() - DAY)
    now = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 15, 0, 0, 0, 0, -1))
    mem = make_memory(clock=lambda: now)
    ids = _seed(mem, now)
    top = mem.resolve(Caller.user(), phrase)[0]
    assert top.event.id == ids[key], (phrase, top.event.title, top.reasons)


@pytest.mark.parametrize("phrase", ["who asked for the hiring plan", "who wants the hiring plan?"])
def test_who_questions_answer_with_the_person(make_memory: Any, phrase: str) -> None:
    mem = make_memory()
    ids = _seed(mem, time.time())
    top = mem.resolve(Caller.user(), phrase)[0]
    assert top.entity == "Dana Weiss" and top.event.id == ids["ask"]


def test_pronouns_prefer_the_conversation(make_memory: Any) -> None:
    mem = make_memory()
    ids = _seed(mem, time.time())
    user = Caller.user()
    # without a conversation, "her" is the most recently seen woman (Bruno's receipt is newer, but he is not "her")
    assert mem.resolve(user, "her")[0].entity == "Carla Mendes"
    assert mem.resolve(user, "her", context=["Ana Lima sent the signed lease"])[0].entity == "Ana Lima"
    it = mem.resolve(user, "open it", context=["what was that sourdough guide?"])[0]
    assert it.event.id == ids["page"]


def test_time_phrases() -> None:
    now = time.mktime((2026, 12, 3, 15, 0, 0, 0, 0, -1))
    today = day_start(now)
    few = parse_time("a few hours ago", now)
    assert few is not None and few.since <= now - 5 * H and few.until <= now - H
    two = parse_time("the PDF from two days ago", now)
    assert two is not None and (two.since, two.until) == (today - 2 * DAY, today - DAY)
    lunch = parse_time("the page before lunch", now)
    assert lunch is not None and lunch.since >= today and lunch.until <= today + 13 * H
    morning = parse_time("this morning", now)
    assert morning is not None and morning.since == today and morning.when == "this morning"
    week = parse_time("last week", now)
    assert week is not None and week.until <= now - 2 * DAY
    assert parse_time("that file", now) is None
    # 2026-12-03 is a Thursday
    weekend = parse_time("the photos from the weekend", now)
    assert weekend is not None and (weekend.since, weekend.until) == (today - 5 * DAY, today - 3 * DAY)
    thu = parse_time("last Thursday", now)
    assert thu is not None and thu.since == today - 7 * DAY
    nov30 = parse_time("the meeting on Nov 30", now)
    assert nov30 is not None and nov30.since == time.mktime((2026, 11, 30, 0, 0, 0, 0, 0, -1))
    assert parse_time("the file from 2026-12-01", now).since == today - 2 * DAY  # type: ignore[union-attr]
    three = parse_time("the call at 3pm yesterday", now)
    assert three is not None and (three.since, three.until) == (today - DAY + 14 * H, today - DAY + 16 * H)


def test_context_through_the_daemon(tmp_path: Path) -> None:
    from assistant.services import Services
    from runtime.config import Config
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from tests.daemon.helpers import start_daemon, stop_daemon

    mem = MemorySkill(MemoryOptions(StoreOptions(tmp_path / "m.db", key_source="file"), background=False))
    _seed(mem, time.time())
    services = Services(Config.from_env({"ASSISTANT_HOME": str(tmp_path)}), overrides={"memory": mem})
    d = start_daemon(tmp_path, services)
    mem.grant(Caller.user(), "admin")  # the test app reads every app's events, as the user allowed
    try:
        with d.unix("admin") as c:
            r = c.post("/v1/memory/resolve", json={"text": "her", "context": ["Ana Lima sent the lease"]})
            assert r.status_code == 200, r.text
            assert r.json()["candidates"][0]["entity"] == "Ana Lima"
            bad = c.post("/v1/memory/resolve", json={"text": "her", "context": "not a list"})
            assert bad.status_code == 422 and bad.json()["error"]["field"] == "context"
    finally:
        stop_daemon(d)
        services.close()


def test_who_answers_skip_the_user_and_prefer_the_named_sender(make_memory: Any) -> None:
    mem = make_memory()
    mem.push(
        Caller("mail"),
        {
            "kind": "message",
            "title": "Omar: the quarterly numbers?",
            "body": "Can you send the quarterly numbers?",
            "entities": {"people": ["Me", "Lena Fischer", "Omar Haddad"]},
        },
    )
    top = mem.resolve(Caller.user(), "who asked for the quarterly numbers")[0]
    assert top.entity == "Omar Haddad"


@pytest.mark.parametrize(
    "query",
    ["that file", "her", "the PDF from yesterday", "who sent the contract", "it", "The draft", "open it!"],
)
def test_queries_that_point_at_one_thing_read_as_references(query: str) -> None:
    assert looks_like_reference(query)


@pytest.mark.parametrize(
    "query", ["quarterly budget", "complaint", "file server logs", "", "  ", "theory of the case"]
)
def test_queries_of_words_to_match_do_not(query: str) -> None:
    assert not looks_like_reference(query)
