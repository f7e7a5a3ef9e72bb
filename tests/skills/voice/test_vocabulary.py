"""The vocabulary prompt Whisper is conditioned on (built from what the caller may see in memory,
bounded, cached), and the spoken-answer prompt (records as plain facts). A real encrypted memory
file; no models."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from runtime.engines.base import ChatMessage
from skills.memory import MemoryOptions, MemorySkill, StoreOptions
from skills.memory.embed import FakeEmbedder
from skills.memory.model import Caller, Entities, Event
from skills.voice.prompt import spoken_prompt
from skills.voice.vocabulary import Vocabulary, VocabularyOptions, build


@pytest.fixture()
def memory(tmp_path: Path) -> Iterator[MemorySkill]:
    m = MemorySkill(
        MemoryOptions(StoreOptions(tmp_path / "m.db", key_source="file")), embedder=FakeEmbedder()
    )
    m.push(
        Caller("mail"),
        {
            "kind": "message",
            "title": "Quarterly budget",
            "body": "Can you check the numbers? Priya",
            "entities": {"people": ["Priya Raman"]},
        },
    )
    m.push(Caller("calendar"), {"kind": "calendar", "title": "Checkup with Doctor Okafor", "body": "Monday"})
    m.push(
        Caller("notes"),
        {"kind": "note", "title": "Bank PIN 4471", "body": "keep this safe", "sensitivity": "secret"},
    )
    yield m
    m.close()


def _event(i: int, title: str, people: tuple[str, ...] = (), app: str = "mail") -> Event:
    return Event(i, app, "message", title, "", "", Entities(people), "normal", 0.0, 0.0)


def test_an_app_scoped_caller_never_gets_another_apps_words(memory: MemorySkill) -> None:
    mail = Vocabulary(memory, Caller("mail")).text()
    assert "Priya Raman" in mail and "Quarterly budget" in mail and "mail" in mail
    assert "Okafor" not in mail and "calendar" not in mail, mail
    calendar = Vocabulary(memory, Caller("calendar")).text()
    assert "Okafor" in calendar and "Priya" not in calendar and "budget" not in calendar, calendar
    everything = Vocabulary(memory, Caller.user()).text()
    assert "Okafor" in everything and "Priya Raman" in everything
    # people come first: they are what Whisper mishears most
    assert everything.index("Priya Raman") < everything.index("Quarterly budget")


def test_secret_events_and_unreadable_memory_give_no_words(memory: MemorySkill) -> None:
    assert "4471" not in Vocabulary(memory, Caller.user()).text()
    no_read = Caller("mail", scopes=frozenset({"memory:write"}))
    assert Vocabulary(memory, no_read).text() == ""  # no vocabulary, never a failed turn
    assert Vocabulary(None, Caller.user()).text() == ""


def test_the_prompt_stays_under_its_length_and_names_each_thing_once() -> None:
    events = [
        _event(i, f"Meeting number {i} about the roadmap", (f"Person {i}", "Ana Lima")) for i in range(80)
    ]
    for limit in (40, 120, 240):
        text = build(events, limit)
        assert 0 < len(text) <= limit, (limit, text)
    text = build(events, 240)
    assert text.count("Ana Lima") == 1 and text.startswith("Person 0, Ana Lima, Person 1")
    assert build([_event(1, "x" * 300)], 60) == "mail."  # an item too long for the prompt is left out
    assert build([], 240) == ""


def test_the_prompt_is_rebuilt_only_after_its_ttl(memory: MemorySkill) -> None:
    now = [100.0]
    vocab = Vocabulary(memory, Caller.user(), VocabularyOptions(ttl=30.0), clock=lambda: now[0])
    first = vocab.text()
    memory.push(
        Caller("calendar"), {"kind": "calendar", "title": "Yoga class with Ingrid", "body": "Wednesday"}
    )
    now[0] += 10
    assert vocab.text() == first
    now[0] += 25
    assert "Yoga class with Ingrid" in vocab.text()


def test_spoken_prompt_gives_records_as_plain_facts_without_numbers_or_clock_times() -> None:
    now = time.time()
    events = [
        Event(
            7, "travel", "note", "Flight to Lisbon", "Friday at seven forty", "", Entities(), "normal", now, 0
        ),
        Event(
            8,
            "mail",
            "message",
            "Contract",
            "Signed, attached.",
            "",
            Entities(("Sarah Miller",)),
            "normal",
            now,
            0,
        ),
    ]
    history = [ChatMessage("system", "read aloud"), ChatMessage("user", "When is my flight?")]
    messages = spoken_prompt(history, events, now)
    assert messages[0].role == "system" and messages[-1].role == "user"
    last = messages[-1].content
    assert "- Flight to Lisbon (your note): Friday at seven forty" in last
    assert "- Sarah Miller sent you a message today: Contract. Signed, attached." in last
    assert last.endswith("Question: When is my flight?")
    assert "[1]" not in last and time.strftime("%H:%M", time.localtime(now)) not in last
    # the fixed part (rules and examples) is the same for every question: the engine caches it
    again = spoken_prompt([ChatMessage("user", "Who sent the contract?")], events, now)
    assert again[:-1] == messages[:-1]


def test_a_follow_up_keeps_the_earlier_turns(memory: Any) -> None:
    history = [
        ChatMessage("user", "Who sent me the contract?"),
        ChatMessage("assistant", "Sarah Miller did."),
    ]
    messages = spoken_prompt([*history, ChatMessage("user", "What did she send?")], [], time.time())
    assert [m.content for m in messages[-3:-1]] == [h.content for h in history]


class _Runtime:
    """Records chat calls; fails when told to."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[list[ChatMessage], Any, str | None]] = []
        self.fail = fail

    def chat(self, messages: Any, options: Any = None, model: str | None = None) -> Iterator[Any]:
        self.calls.append((list(messages), options, model))
        if self.fail:
            raise RuntimeError("model gone")
        yield from ()


def test_the_loop_primes_the_spoken_prefix_once_and_never_fails_on_it() -> None:
    from skills.chat import ChatOptions
    from skills.voice import prime

    rt = _Runtime()
    prime(rt, ChatOptions(model="m", prompt=spoken_prompt))
    [(messages, options, model)] = rt.calls
    fixed = spoken_prompt([ChatMessage("user", "When?")], [], time.time())[:-1]
    assert messages[:-1] == fixed and model == "m" and options.max_tokens == 1
    prime(rt, ChatOptions(model="m"))  # text chat's prompt: nothing to prime
    assert len(rt.calls) == 1
    prime(_Runtime(fail=True), ChatOptions(model="m", prompt=spoken_prompt))  # logged, not raised
