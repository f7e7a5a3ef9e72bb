"""Under tool_choice "auto", a reply that opens with "{" is a tool call only when it is a whole JSON
object naming a declared tool with valid arguments (small models drop Qwen's <tool_call> tag);
otherwise it is the answer's text, whole or streamed. Through the official openai and ollama clients:
Qwen2.5-Coder-0.5B asked for a JSON answer, and a daemon whose fake engine writes a scripted reply
(an untagged call is the model's choice, so only a script can make one on demand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import ollama
import openai
import pytest

from runtime.config import Config
from tests.daemon.helpers import SMOL, Daemon, start_daemon, stop_daemon
from tests.daemon.test_tools import QWEN, TOOLS, _client, check_calls

ASK_JSON = [
    {
        "role": "user",
        "content": 'Reply with only this JSON object, nothing else: {"status": "ok", "count": 3}',
    }
]
UNTAGGED = '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\nIt is sunny.'
NOT_A_CALL = '{"name": "get_weather", "arguments": {"town": "Paris"}} is how the call would look.'


@pytest.mark.real_model
def test_a_json_answer_is_text_whole_and_streamed(daemon: Daemon, qwen_id: str) -> None:
    oai = _client(daemon)
    r = oai.chat.completions.create(model=QWEN, messages=ASK_JSON, tools=TOOLS, max_tokens=40, temperature=0)
    choice = r.choices[0]
    assert choice.finish_reason == "stop" and not choice.message.tool_calls
    assert json.loads(choice.message.content or "") == {"status": "ok", "count": 3}
    stream = oai.chat.completions.create(
        model=QWEN, messages=ASK_JSON, tools=TOOLS, max_tokens=40, temperature=0, stream=True
    )
    parts, finish = [], None
    for chunk in stream:
        for c in chunk.choices:
            assert not c.delta.tool_calls
            finish = c.finish_reason or finish
            if c.delta.content:
                parts.append(c.delta.content)
    assert finish == "stop" and "".join(parts) == choice.message.content
    assert len(parts) > 3  # released as it was written once it could not be a call, not at the end


@pytest.fixture(scope="module")
def scripted(
    tmp_path_factory: pytest.TempPathFactory, real_store: Any, config: Config
) -> Iterator[tuple[Daemon, Any]]:
    """A daemon over the fake engine; set `engine.reply` to script what the "model" writes."""
    from assistant.services import Services
    from runtime.engines.fake import FakeTextEngine
    from runtime.runtime import Runtime

    engine = FakeTextEngine(SMOL)
    rt = Runtime(config.with_(chat_model=SMOL), store=real_store, loaders={"gguf": lambda m, p: engine})
    root: Path = tmp_path_factory.mktemp("untagged")
    services = Services(config.with_(chat_model=SMOL, data_dir=root / "data"), runtime=rt)
    d = start_daemon(root, services)
    yield d, engine
    stop_daemon(d)
    rt.close()


def _oai(d: Daemon) -> openai.OpenAI:
    http = httpx.Client(transport=httpx.HTTPTransport(uds=str(d.socket)), timeout=60)
    return openai.OpenAI(
        base_url="http://localhost/v1", api_key=d.tokens["chatter"], http_client=http, max_retries=0
    )


def test_an_untagged_call_for_a_declared_tool_is_a_call(scripted: tuple[Daemon, Any]) -> None:
    d, engine = scripted
    engine.reply = UNTAGGED
    oai = _oai(d)
    r = oai.chat.completions.create(model=SMOL, messages=[{"role": "user", "content": "Paris?"}], tools=TOOLS)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    check_calls(choice.message.tool_calls or [], TOOLS)
    assert json.loads((choice.message.tool_calls or [])[0].function.arguments)["city"] == "Paris"
    stream = oai.chat.completions.create(
        model=SMOL, messages=[{"role": "user", "content": "Paris?"}], tools=TOOLS, stream=True
    )
    deltas = [c.delta for chunk in stream for c in chunk.choices]
    assert not "".join(x.content or "" for x in deltas)
    assert [t.function.name for x in deltas for t in x.tool_calls or []] == ["get_weather"]
    h = {"Authorization": f"Bearer {d.tokens['chatter']}"}
    o = ollama.Client(host=d.url, headers=h, timeout=60).chat(
        model=SMOL, messages=[{"role": "user", "content": "Paris?"}], tools=TOOLS, stream=False
    )
    assert o.message.tool_calls and o.message.tool_calls[0].function.name == "get_weather"


@pytest.mark.parametrize("stream", [False, True])
def test_json_that_is_no_valid_call_is_the_answer(scripted: tuple[Daemon, Any], stream: bool) -> None:
    d, engine = scripted
    engine.reply = NOT_A_CALL  # the schema has no "town" and needs "city"
    oai = _oai(d)
    kw: dict[str, Any] = {"model": SMOL, "messages": [{"role": "user", "content": "?"}], "tools": TOOLS}
    if not stream:
        r = oai.chat.completions.create(**kw)
        assert r.choices[0].message.content == NOT_A_CALL and not r.choices[0].message.tool_calls
        assert r.choices[0].finish_reason == "stop"
        return
    deltas = [c.delta for chunk in oai.chat.completions.create(**kw, stream=True) for c in chunk.choices]
    assert "".join(x.content or "" for x in deltas) == NOT_A_CALL
    assert not any(x.tool_calls for x in deltas)
