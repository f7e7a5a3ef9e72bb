"""A day name in a spoken question may be the day an event is about ("dinner on Saturday"), not the
day it was recorded: retrieval (skills/chat_context.rank) finds events whose own words name that day,
and still keeps "what did I open on Monday" to Monday. A real encrypted memory file; no models."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from skills.chat_context import rank
from skills.memory import MemoryOptions, MemorySkill, StoreOptions
from skills.memory.embed import FakeEmbedder
from skills.memory.model import DAY, Caller

NOW = time.time()


@pytest.fixture()
def memory(tmp_path: Path) -> Iterator[MemorySkill]:
    m = MemorySkill(
        MemoryOptions(StoreOptions(tmp_path / "m.db", key_source="file")), embedder=FakeEmbedder()
    )
    m.push(
        Caller("chat"),
        {
            "kind": "message",
            "title": "Dinner plans",
            "body": "Tom: dinner at Luigi's at eight on Saturday",
            "entities": {"people": ["Tom"]},
        },
    )
    m.push(Caller("chat"), {"kind": "message", "title": "Lunch", "body": "lunch at the canteen on Friday"})
    m.push(Caller("files"), {"kind": "file_opened", "title": "budget.xlsx", "body": "opened budget.xlsx"})
    yield m
    m.close()


def test_a_day_the_event_is_about_finds_it(memory: MemorySkill) -> None:
    found = rank(memory, Caller.user(), "Where are we having dinner on Saturday?", now=NOW)
    assert found and "Luigi" in found[0].event.body
    assert all("Saturday" in r.event.body for r in found), [r.event.body for r in found]


def test_a_day_named_by_nothing_in_the_event_stays_a_time_window(memory: MemorySkill) -> None:
    # every event here was recorded today; none was on a day eight days back, and none says so
    day = time.strftime("%A", time.localtime(NOW - 8 * DAY)).lower()
    assert rank(memory, Caller.user(), f"What did I open on {day}?", now=NOW) == []


def test_an_app_sees_only_its_own_day_named_events(memory: MemorySkill) -> None:
    assert rank(memory, Caller("files"), "Where is dinner on Saturday?", now=NOW) == []
