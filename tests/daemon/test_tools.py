"""Tool calling through the official openai client against a real daemon serving Qwen2.5-Coder-0.5B.

A 0.5B model may pick the wrong tool; what must never happen is malformed arguments: every call's
arguments parse and validate against its function's schema, streamed or not.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.daemon.helpers import Daemon

pytestmark = pytest.mark.real_model
QWEN = "qwen2.5-coder-0.5b"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the local time in an IANA timezone",
        "parameters": {
            "type": "object",
            "properties": {"tz": {"type": "string"}, "seconds": {"type": "boolean"}},
            "required": ["tz"],
        },
    },
}
TOOLS: list[Any] = [WEATHER, TIME]
ASK = [{"role": "user", "content": "What is the weather like in Paris right now?"}]


def _client(d: Daemon) -> openai.OpenAI:
    http = httpx.Client(transport=httpx.HTTPTransport(uds=str(d.socket)), timeout=300)
    return openai.OpenAI(
        base_url="http://localhost/v1", api_key=d.tokens["chatter"], http_client=http, max_retries=0
    )


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Validate with jsonschema when installed, else check the keywords these tests' schemas use."""
    try:
        import jsonschema
    except ImportError:
        assert isinstance(instance, dict)
        props = schema.get("properties", {})
        assert set(schema.get("required", [])) <= set(instance)
        if schema.get("additionalProperties") is False:
            assert set(instance) <= set(props)
        kinds = {"string": str, "boolean": bool, "integer": int, "object": dict}
        for key, value in instance.items():
            sub = props.get(key, {})
            if "type" in sub:
                assert isinstance(value, kinds[sub["type"]]), (key, value)
            if "enum" in sub:
                assert value in sub["enum"], (key, value)
            if "minLength" in sub:
                assert len(value) >= sub["minLength"]
        return
    jsonschema.validate(instance, schema)


def check_calls(calls: list[Any], allowed: list[Any]) -> None:
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in allowed}
    assert calls
    for call in calls:
        assert call.type == "function" and call.id
        assert call.function.name in schemas
        validate(json.loads(call.function.arguments), schemas[call.function.name])


@pytest.fixture(scope="module")
def oai(daemon: Daemon, qwen_id: str) -> openai.OpenAI:
    return _client(daemon)


def test_required_call_whole(oai: openai.OpenAI) -> None:
    r = oai.chat.completions.create(
        model=QWEN,
        messages=ASK,
        tools=TOOLS,
        tool_choice="required",
        parallel_tool_calls=False,
        max_tokens=80,
    )
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    check_calls(choice.message.tool_calls, TOOLS)


def test_named_function_streamed(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model=QWEN,
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        stream=True,
        max_tokens=80,
    )
    calls: dict[int, Any] = {}
    finish = None
    for chunk in stream:
        for c in chunk.choices:
            finish = c.finish_reason or finish
            for d in c.delta.tool_calls or []:
                calls[d.index] = d
    assert finish == "tool_calls"
    assert [c.function.name for c in calls.values()] == [
        "get_time"
    ]  # the named one, whatever the model liked
    check_calls(list(calls.values()), [TIME])


def test_auto_then_tool_result_continues(oai: openai.OpenAI) -> None:
    r = oai.chat.completions.create(model=QWEN, messages=ASK, tools=TOOLS, max_tokens=80)
    msg = r.choices[0].message
    if r.choices[0].finish_reason == "tool_calls":
        check_calls(msg.tool_calls or [], TOOLS)
    else:  # the model may answer in words under "auto"; then there are no calls at all
        assert not msg.tool_calls and msg.content
    history: list[Any] = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature_c": 31, "sky": "sunny"}'},
    ]
    r = oai.chat.completions.create(
        model=QWEN, messages=history, tools=TOOLS, tool_choice="none", max_tokens=40, temperature=0
    )
    assert r.choices[0].finish_reason in ("stop", "length") and not r.choices[0].message.tool_calls
    assert "31" in (r.choices[0].message.content or "")  # it read the tool's result


@pytest.mark.parametrize(
    ("parameters", "why"),
    [
        ({"type": "object", "properties": {"x": {"type": "tensor"}}}, "Unrecognized"),
        ({"type": "object", "properties": {"x": {"not": {"type": "string"}}}}, "'not'"),
        ({"type": "object", "properties": {"x": {"$ref": "https://example.com/s.json"}}}, "$ref"),
        ({"type": "array"}, "type object"),
    ],
)
def test_schema_the_grammar_cannot_express_is_400(daemon: Daemon, parameters: Any, why: str) -> None:
    tools = [TIME, {"type": "function", "function": {"name": "bad", "parameters": parameters}}]
    with daemon.unix("chatter") as c:
        r = c.post("/v1/chat/completions", json={"model": QWEN, "messages": ASK, "tools": tools})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["field"] == "tools[1].function.parameters" and why in err["message"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice.function.name",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": TOOLS, "response_format": {"type": "json_object"}}, "response_format"),
        ({"tools": [TIME, TIME]}, "tools[1].function"),
        ({"messages": [*ASK, {"role": "tool", "content": "{}"}]}, "messages[1].tool_call_id"),
    ],
)
def test_what_cannot_be_honoured_is_refused(daemon: Daemon, extra: dict[str, Any], field: str) -> None:
    with daemon.unix("chatter") as c:
        r = c.post("/v1/chat/completions", json={"model": QWEN, "messages": ASK, **extra})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == field


# -- the logic under the daemon, without a model -------------------------------------------------------
def test_render_uses_qwens_tool_format() -> None:
    from skills.chat_tools import Tool, ToolCall, Turn, render

    tool = Tool("get_time", "Get the time", {"type": "object", "properties": {"tz": {"type": "string"}}})
    msgs = render(
        [
            Turn("user", "Time in Lisbon?"),
            Turn("assistant", "", (ToolCall("c1", "get_time", '{"tz": "Europe/Lisbon"}'),)),
            Turn("tool", "10:00", tool_call_id="c1"),
            Turn("tool", "11:00", tool_call_id="c2"),
        ],
        [tool],
        True,
    )
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user"]
    assert "<tools>\n" + json.dumps(tool.spec()) + "\n</tools>" in msgs[0].content
    assert (
        msgs[2].content
        == '<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Lisbon"}}\n</tool_call>'
    )
    assert (
        msgs[3].content
        == "<tool_response>\n10:00\n</tool_response>\n<tool_response>\n11:00\n</tool_response>"
    )
    assert all("<tools>" not in m.content for m in render([Turn("user", "hi")], [tool], False))


def test_parse_calls_drops_a_call_cut_short() -> None:
    from skills.chat_tools import parse_calls

    text = (
        '\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>\n<tool_call>\n{"name": "a", "arguments": {"x"'
    )
    calls = parse_calls(text, {"a"})
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("a", {"x": 1})]
    assert parse_calls('\n{"name": "other", "arguments": {}}\n</tool_call>', {"a"}) == []


def test_call_grammar_compiles_with_defs_from_several_tools() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    from skills.chat_tools import Tool, calls_grammar

    point = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
    tools = [
        Tool(
            "a",
            parameters={"type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}, "$defs": {"P": point}},
        ),
        Tool(
            "b",
            parameters={
                "type": "object",
                "properties": {"p": {"$ref": "#/definitions/P"}},
                "definitions": {"P": {"type": "string"}},
            },
        ),
    ]
    gbnf = calls_grammar(tools, parallel=True)
    # each tool's P stays its own: a's is an object, b's a plain string
    assert "call-0-arguments-p ::= t0-P" in gbnf and "call-1-arguments-p ::= string" in gbnf
    LlamaGrammar.from_string(gbnf, verbose=False)
