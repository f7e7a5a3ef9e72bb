"""Tool calls written without Qwen's <tool_call> tag under tool_choice "auto": a reply opening with "{"
is a call only when it is a whole JSON object naming a declared tool with arguments valid for it;
anything else is text, streamed as written. The parser alone, then ToolChat.stream over the shipped
fake engine (it "generates" a scripted reply one character a token)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from runtime.engines.base import GenerationOptions, TokenEvent
from runtime.engines.fake import FakeTextEngine
from runtime.scheduler import Scheduler
from skills.chat_tools import Tool, ToolCallEvent, ToolChat, Turn, read_untagged

WEATHER = Tool(
    "get_weather",
    "Get the weather",
    {
        "type": "object",
        "properties": {"city": {"type": "string", "minLength": 1}, "unit": {"enum": ["c", "f"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
TIME = Tool("get_time", "", {"type": "object", "properties": {"tz": {"type": "string"}}})
TOOLS = [WEATHER, TIME]
CALL = '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}'


@pytest.mark.parametrize(
    "text",
    [
        '{"answer": 42}',
        '{"answer": ',  # the first key already rules it out
        "{x} is a set",
        "{}",
        '{"name": "get_wind", "arguments": {}}',
        '{"name": "get_wind"',  # no such tool: known before the object closes
        '{"name": 3, "arguments": {}}',
        '{"name": "get_weather", "arguments": {"city": 3}}',  # wrong type
        '{"name": "get_weather", "arguments": {}}',  # city is required
        '{"name": "get_weather", "arguments": {"city": "Rome", "wind": 1}}',  # no extra properties
        '{"name": "get_weather", "arguments": {"city": "Rome"}, "note": "x"}',  # not a call's keys
        '{"name": "get_weather", "arguments": "city=Rome"}',
    ],
)
def test_what_is_not_a_call_is_text(text: str) -> None:
    verdict, call, _ = read_untagged(text, TOOLS)
    assert (verdict, call) == ("text", None), text


@pytest.mark.parametrize(
    "prefix",
    [
        "{",
        ' {\n  "na',
        '{"name": "get_wea',
        '{"arguments": {"tz": "Europe/Li',
        '{"name": "get_weather", "arguments": {"city": "Rome"}',  # one brace short of a call
    ],
)
def test_a_prefix_that_may_become_a_call_waits(prefix: str) -> None:
    assert read_untagged(prefix, TOOLS)[0] == "wait"


def test_a_whole_call_for_a_declared_tool_is_a_call() -> None:
    verdict, call, end = read_untagged("\n" + CALL + "\nThe weather is", TOOLS)
    assert verdict == "call" and call is not None and end == len(CALL) + 1
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris", "unit": "c"}
    # arguments first, and arguments left out where the schema needs none
    verdict, call, _ = read_untagged('{"arguments": {"tz": "UTC"}, "name": "get_time"}', TOOLS)
    assert verdict == "call" and call is not None and json.loads(call.arguments) == {"tz": "UTC"}
    verdict, call, _ = read_untagged('{"name": "get_time"}', TOOLS)
    assert verdict == "call" and call is not None and call.arguments == "{}"
    # only the tools offered count
    assert read_untagged(CALL, [TIME])[0] == "text"


def _chat(reply: str) -> ToolChat:
    engine = FakeTextEngine("m", reply=reply)
    sched: Scheduler[FakeTextEngine] = Scheduler(lambda _m: lambda _id: (engine, engine.report))
    return ToolChat(SimpleNamespace(scheduler=sched))


def _run(reply: str, tools: list[Tool] = TOOLS) -> tuple[list[TokenEvent], Any]:
    gen = _chat(reply).stream([Turn("user", "hi")], tools, "auto", GenerationOptions(max_tokens=400), "m")
    events: list[TokenEvent] = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


@pytest.mark.parametrize(
    "reply",
    [
        '{"answer": 42, "why": "it is the answer to everything, as the book says"}',
        '  {"name": "get_wind", "arguments": {"speed": 3}} blows from the west',
        '{"name": "get_weather", "arguments": {"city": ""}} is what I would send, but no.',
        '{"name": "get_weather", "arguments": {"city": "Paris"',  # cut short: the whole text comes back
    ],
)
def test_plain_answers_opening_with_a_brace_are_streamed_whole(reply: str) -> None:
    events, stats = _run(reply)
    assert not any(isinstance(e, ToolCallEvent) for e in events)
    assert "".join(e.text for e in events) == reply and stats.finish_reason == "stop"


def test_text_is_released_as_soon_as_it_cannot_be_a_call() -> None:
    reply = '{"answer": ' + '"' + "word " * 40 + '"}'
    events, _ = _run(reply)
    # one event per generated character once the first key ruled the call out, not one at the end
    assert len([e for e in events if e.text]) > 150


def test_an_untagged_call_is_a_call_and_ends_the_reply() -> None:
    events, stats = _run(CALL + "\nThe weather in Paris is sunny.")
    calls = [c for e in events if isinstance(e, ToolCallEvent) for c in e.calls]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris", "unit": "c"})
    ]
    assert "".join(e.text for e in events) == "" and stats.finish_reason == "tool_calls"
