"""Inputs that once reached a skill or engine and came back as a 500, now a 4xx naming the field (or a
200 where the input is valid), each through a real daemon over HTTP.

Found by schemathesis (issue 17) and by probing the daemon (issue 12): lone surrogates in any text
field, an empty completion prompt on llama.cpp, memory queries in any script or with FTS5 syntax.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.daemon.helpers import Daemon

LONE = "a\ud800b"  # json.dumps writes it as the escape "\ud800", as a hostile client would

# (path, body, the field the refusal must name)
SURROGATES = [
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": LONE}]}, "messages.0.content"),
    ("/v1/completions", {"prompt": LONE}, "prompt"),
    ("/v1/completions", {"prompt": ["ok"], "stop": ["\udfff"]}, "stop"),
    ("/v1/embeddings", {"input": ["fine", LONE]}, "input"),
    ("/translate", {"q": LONE, "source": "en", "target": "pt"}, "q"),
    ("/v1/skills/translate", {"text": LONE, "target": "pt"}, "text"),
    ("/v1/memory/events", {"kind": "note", "body": LONE}, "body"),
    ("/v1/memory/events", {"kind": "note", "title": "t", "entities": {"people": [LONE]}}, "entities"),
    ("/v1/memory/events/batch", {"events": [{"kind": "note", "title": LONE}]}, "events.0.title"),
    ("/v1/memory/search", {"query": LONE}, "query"),
    ("/v1/memory/resolve", {"text": LONE}, "text"),
    ("/v1/skills/autocomplete", {"prefix": LONE}, "prefix"),
]


@pytest.mark.filterwarnings("ignore:no OS keyring")
@pytest.mark.parametrize("path,body,field", SURROGATES, ids=[f"{p}:{f}" for p, _, f in SURROGATES])
def test_a_lone_surrogate_is_a_400_naming_the_field(
    fuzz_daemon: Daemon, path: str, body: dict[str, Any], field: str
) -> None:
    raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as the escape "\ud800"
    with fuzz_daemon.tcp() as c:
        r = c.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_text" and err["field"].startswith(field), err
    assert "surrogate" in err["message"]


@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_paired_surrogates_are_text(fuzz_daemon: Daemon) -> None:
    """JSON's escaped pair "\\ud83d\\ude00" is one emoji, and goes through."""
    body = b'{"kind": "note", "title": "smile \\ud83d\\ude00"}'
    with fuzz_daemon.tcp() as c:
        r = c.post("/v1/memory/events", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        hits = c.post("/v1/memory/search", json={"query": "smile", "mode": "keyword"}).json()["hits"]
    assert any(h["event"]["title"] == "smile \U0001f600" for h in hits)


@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_a_field_called_body_is_named_body(fuzz_daemon: Daemon) -> None:
    """A memory event's `body` field is not FastAPI's request body: a wrong type there is a 422
    naming `body`, not "the body is not valid JSON"."""
    with fuzz_daemon.tcp() as c:
        r = c.post("/v1/memory/events", json={"kind": "note", "body": ["not", "text"]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "body"


MIXED = [
    "½ x\U0001e900y ﬁle ㎏ \u0130stanbul e\u0301 \x07\x1b \U0001f600 \u200b \ufeff 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    '"alpha" AND (beta OR NOT gamma*) NEAR(a b, 3) ^title:x {body uri}:y + - :',
    "日本語のメモ 한국어 العربية עברית हिन्दी ไทย",
]


@pytest.mark.filterwarnings("ignore:no OS keyring")
@pytest.mark.parametrize("text", MIXED, ids=["unicode", "fts5-syntax", "scripts"])
def test_memory_search_and_resolve_take_any_text(fuzz_daemon: Daemon, text: str) -> None:
    """Regression: a query of mixed Unicode was a 500 (fts5: phrase queries are not supported)."""
    with fuzz_daemon.tcp() as c:
        assert c.post("/v1/memory/events", json={"kind": "note", "title": text}).status_code == 200
        for mode in ("keyword", "hybrid"):
            r = c.post("/v1/memory/search", json={"query": text, "mode": mode, "kinds": [text], "apps": []})
            assert r.status_code == 200, r.text
            r = c.post("/v1/memory/search", json={"query": text, "mode": mode})
            assert r.status_code == 200, r.text
            assert any(h["event"]["title"] == text for h in r.json()["hits"]), r.text
        r = c.post("/v1/memory/resolve", json={"text": text})
        assert r.status_code == 200, r.text


@pytest.mark.real_model
def test_an_empty_prompt_completes_on_a_real_model(daemon: Daemon) -> None:
    """Regression: {"prompt": ""} was a 500 (AssertionError inside llama.cpp: zero tokens to evaluate)."""
    with daemon.tcp() as c:
        r = c.post("/v1/completions", json={"prompt": "", "max_tokens": 3, "temperature": 0})
        assert r.status_code == 200, r.text
        assert r.json()["usage"]["prompt_tokens"] == 1  # the BOS token it starts from
        r = c.post("/v1/completions", json={"prompt": [""], "max_tokens": 2, "stream": True})
        assert r.status_code == 200 and "data: [DONE]" in r.text, r.text


NOT_A_SCHEMA = [{"a": [1, None]}, {"type": "no-such-type"}, {"properties": 5}]


@pytest.mark.filterwarnings("ignore:no OS keyring")
@pytest.mark.parametrize("schema", NOT_A_SCHEMA, ids=["no-keyword", "bad-type", "bad-properties"])
@pytest.mark.parametrize("tools", [False, True], ids=["plain", "with-tools"])
def test_a_response_format_that_is_not_a_schema_is_a_400(
    fuzz_daemon: Daemon, schema: dict[str, Any], tools: bool
) -> None:
    """Regression (the deeper schemathesis run): llama.cpp's grammar converter raised AssertionError
    ("Unrecognized schema") on the tool-calling path, a 500."""
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        "max_tokens": 4,
    }
    if tools:
        body["tool_choice"] = "none"
    with fuzz_daemon.tcp() as c:
        r = c.post("/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == "response_format.json_schema.schema"


@pytest.mark.real_model
def test_a_conversation_the_template_cannot_render_is_a_400(daemon: Daemon) -> None:
    """Regression (the deeper schemathesis run on SmolLM2): a developer turn holding only a tool call
    rendered to no turns at all, and the model's Jinja template failed on it (UndefinedError, a 500)."""
    call = {"id": "c1", "type": "function", "function": {"name": "", "arguments": ""}}
    body = {"messages": [{"role": "developer", "tool_calls": [call]}], "max_tokens": 2}
    with daemon.tcp() as c:
        r = c.post("/v1/chat/completions", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["field"].startswith("messages"), r.text


@pytest.mark.filterwarnings("ignore:no OS keyring")
@pytest.mark.parametrize("extra", [{}, {"tool_choice": "none"}], ids=["plain", "tool-path"])
def test_chat_naming_the_embedding_model_is_refused(fuzz_daemon: Daemon, extra: dict[str, Any]) -> None:
    """Regression (the deeper schemathesis run): once the memory skill held MiniLM, a chat naming it
    on the tool-calling path was handed the embedder (AttributeError: no chat_prompt, a 500)."""
    with fuzz_daemon.tcp() as c:
        assert c.post("/v1/embeddings", json={"input": "warm"}).status_code == 200  # MiniLM is held now
        body = {"model": "minilm-l6-int8", "messages": [{"role": "user", "content": "hi"}], **extra}
        r = c.post("/v1/chat/completions", json={**body, "max_tokens": 2})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == "model", r.text
