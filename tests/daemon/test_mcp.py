"""The MCP server through the official SDK's own client, over Streamable HTTP at /mcp on a real daemon
(real encrypted memory, fake embedder) and over stdio (`assistant mcp` in a subprocess)."""

from __future__ import annotations

import json
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Iterator

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from assistant.services import Services
from runtime.config import Config
from skills.memory import MemoryOptions, MemorySkill, StoreOptions
from skills.memory.embed import FakeEmbedder
from tests.daemon.helpers import Daemon, start_daemon, stop_daemon

EVENT = {"kind": "file_opened", "title": "Quarterly budget draft.xlsx", "uri": "file:///home/u/budget.xlsx"}


@pytest.fixture(scope="module")
def mcp_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("mcp")
    memory = MemorySkill(
        MemoryOptions(StoreOptions(root / "memory.db", key_source="file")), embedder=FakeEmbedder()
    )
    services = Services(Config.from_env({"ASSISTANT_HOME": str(root)}), overrides={"memory": memory})
    d = start_daemon(root, services)
    d.tokens["notes"] = d.registry.add("notes", "memory:read,memory:write")
    d.tokens["pusher"] = d.registry.add("pusher", "memory:write")
    yield d
    stop_daemon(d)
    services.close()


@asynccontextmanager
async def http_session(d: Daemon, token: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {d.tokens[token]}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(f"{d.url}/mcp", http_client=http) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


async def test_http_tools_follow_the_callers_scopes(mcp_daemon: Daemon) -> None:
    async with http_session(mcp_daemon, "notes") as s:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert {"memory_search", "memory_resolve", "memory_push"} <= set(tools)
        assert "translate" not in tools and "ask" not in tools  # scopes it does not hold
        assert tools["memory_search"].inputSchema["properties"]["query"]["type"] == "string"
        assert tools["memory_push"].outputSchema is not None
        pushed = await s.call_tool("memory_push", EVENT)
        assert not pushed.isError and pushed.structuredContent and pushed.structuredContent["id"] > 0
        found = await s.call_tool("memory_search", {"query": "quarterly budget", "limit": 3})
        assert not found.isError, found.content
        assert found.structuredContent is not None
        hits = found.structuredContent["hits"]
        assert hits and hits[0]["event"]["title"] == EVENT["title"] and hits[0]["event"]["app"] == "notes"
        resources = (await s.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["assistant://context/recent"]
        recent = await s.read_resource(resources[0].uri)
        events = json.loads(recent.contents[0].text)["events"]  # type: ignore[union-attr]
        assert events[0]["title"] == EVENT["title"]


async def test_http_caller_without_memory_read(mcp_daemon: Daemon) -> None:
    async with http_session(mcp_daemon, "pusher") as s:
        names = {t.name for t in (await s.list_tools()).tools}
        assert "memory_push" in names and "memory_search" not in names
        r = await s.call_tool("memory_search", {"query": "budget"})
        assert r.isError and "memory:read" in r.content[0].text  # type: ignore[union-attr]
        assert (await s.list_resources()).resources == []
        bad = await s.call_tool("memory_push", {"kind": "Not A Kind!"})
        assert bad.isError  # input checked against the schema, never half-run


def test_http_refusals(mcp_daemon: Daemon) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(base_url=mcp_daemon.url) as c:
        assert c.post("/mcp", json=body, headers=accept).status_code == 401
        wrong = {"Authorization": "Bearer ast_nope", **accept}
        assert c.post("/mcp", json=body, headers=wrong).status_code == 401
        origin = {
            "Authorization": f"Bearer {mcp_daemon.tokens['notes']}",
            "Origin": "http://evil.example",
            **accept,
        }
        assert c.post("/mcp", json=body, headers=origin).status_code == 403


def test_stdio(tmp_path: Path) -> None:
    import anyio

    from assistant.daemon.apps import AppRegistry
    from assistant.daemon.settings import DaemonConfig

    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path)})
    registry = AppRegistry(DaemonConfig.from_config(cfg).registry_path)
    token = registry.add("desktop", "memory:read")
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path), "ASSISTANT_TOKEN": token}

    async def run() -> None:
        params = StdioServerParameters(command=sys.executable, args=["-m", "assistant.cli", "mcp"], env=env)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                names = {t.name for t in (await s.list_tools()).tools}
                assert names == {"memory_search", "memory_resolve"}
                r = await s.call_tool("memory_push", {"kind": "note", "body": "x"})
                assert r.isError and "memory:write" in r.content[0].text  # type: ignore[union-attr]
                found = await s.call_tool("memory_search", {"query": "anything", "mode": "keyword"})
                assert not found.isError, found.content
                assert found.structuredContent == {"hits": []}

    anyio.run(run)


def test_stdio_refuses_without_a_token(tmp_path: Path) -> None:
    import subprocess

    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path)}
    env.pop("ASSISTANT_TOKEN", None)
    r = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "mcp"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode != 0 and "ASSISTANT_TOKEN" in r.stderr + r.stdout


@pytest.mark.real_model
@pytest.mark.filterwarnings("ignore:no OS keyring")
async def test_http_skill_tools_on_real_models(daemon: Daemon, smollm_id: str, tmp_path: Path) -> None:
    from tests.skills.speech.helpers import ENGLISH, speak

    wav = tmp_path / "talk.wav"
    speak(ENGLISH, wav)
    async with http_session(daemon, "admin") as s:
        heard = await s.call_tool("transcribe", {"path": str(wav), "language": "en"})
        assert not heard.isError, heard.content
        text = (heard.structuredContent or {})["text"].lower()
        assert "lazy" in text and "speaker" in text  # tiny.en on espeak: the plain words come through
        missing = await s.call_tool("transcribe", {"path": str(tmp_path / "nope.wav")})
        assert missing.isError and "field path" in missing.content[0].text  # type: ignore[union-attr]
        done = await s.call_tool("autocomplete", {"prefix": "Dear Maria, thank you for", "budget_ms": 5000})
        assert not done.isError, done.content
        assert done.structuredContent is not None and "suggestions" in done.structuredContent
        moved = await s.call_tool(
            "translate", {"text": "Good morning. The library opens at nine.", "target": "pt"}
        )
        assert not moved.isError, moved.content
        out = moved.structuredContent or {}
        assert out["target"] == "pt" and out["text"].strip() and out["engine"], out
        if out["engine"].startswith("bergamot"):
            assert "biblioteca" in out["text"].lower(), out
        said = await s.call_tool("ask", {"question": "Name a colour.", "grounding": False})
        assert not said.isError, said.content
        assert said.structuredContent and said.structuredContent["answer"].strip()
        assert said.structuredContent["grounded"] is False


async def test_sdk_client_without_a_token_is_refused(mcp_daemon: Daemon) -> None:
    import anyio

    async with httpx.AsyncClient(timeout=30) as http:
        with pytest.raises(Exception) as err:  # the SDK surfaces the 401 from its transport task
            async with streamable_http_client(f"{mcp_daemon.url}/mcp", http_client=http) as (read, write, _):
                async with ClientSession(read, write) as s:
                    with anyio.fail_after(20):
                        await s.initialize()
    assert "401" in repr(err.value) or "Unauthorized" in repr(err.value), repr(err.value)
