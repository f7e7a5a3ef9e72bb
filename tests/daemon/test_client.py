"""assistant.client and `assistant call` against the real daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.client import AsyncClient, Client, ClientOptions, DaemonError, DaemonUnavailable
from tests.daemon.helpers import SMOL, Daemon

pytestmark = pytest.mark.real_model


def test_sync_client_typed_results_over_both_transports(daemon: Daemon) -> None:
    for opts in (
        ClientOptions(socket_path=daemon.socket, token=daemon.tokens["admin"]),
        ClientOptions(base_url=daemon.url, token=daemon.tokens["admin"]),
    ):
        with Client(opts) as c:
            assert c.health().status == "ok"
            assert SMOL in {m.id for m in c.models().data}
            r = c.chat("Say hello.", model=SMOL, max_tokens=6)
            assert r.choices[0].message.content and r.usage.completion_tokens <= 6
            assert "".join(c.chat_stream("Say hello.", model=SMOL, max_tokens=6)).strip()
            assert c.complete("One, two,", model=SMOL, max_tokens=4).choices[0].text
            assert "assistant_requests_total" in c.metrics()


def test_errors_carry_the_servers_message(daemon: Daemon) -> None:
    with Client(ClientOptions(socket_path=daemon.socket, token=daemon.tokens["translator"])) as c:
        with pytest.raises(DaemonError) as err:
            c.chat("hi", model=SMOL)
        assert err.value.status == 403 and "lacks the 'chat' scope" in str(err.value)
    with Client(ClientOptions(socket_path=daemon.socket, token=daemon.tokens["admin"])) as c:
        with pytest.raises(DaemonError) as err:
            c.chat("hi", model="../x")
        assert err.value.status == 400 and err.value.field == "model"
        with pytest.raises(DaemonError) as err:
            list(c.chat_stream("hi", model="nope-model"))
        assert (
            err.value.status == 404
            and "assistant models pull" in str(err.value)
            or "not installed" in str(err.value)
        )


def test_unavailable_daemon_says_how_to_start(tmp_path: Path) -> None:
    with Client(ClientOptions(socket_path=tmp_path / "none.sock")) as c:
        with pytest.raises(DaemonUnavailable, match="assistant daemon start"):
            c.health()


def test_async_client(daemon: Daemon) -> None:
    async def go() -> tuple[str, str]:
        async with AsyncClient(ClientOptions(socket_path=daemon.socket, token=daemon.tokens["chatter"])) as c:
            whole = (await c.chat("Name a fruit.", model=SMOL, max_tokens=5)).choices[0].message.content
            streamed = "".join([t async for t in c.chat_stream("Name a fruit.", model=SMOL, max_tokens=5)])
            return whole, streamed

    whole, streamed = asyncio.run(go())
    assert whole.strip() and streamed.strip()


def test_assistant_call_from_the_shell(daemon: Daemon) -> None:
    home = str(daemon.settings.registry_path.parent.parent)  # the daemon's ASSISTANT_HOME
    env = {"ASSISTANT_HOME": home}
    tok = daemon.tokens["admin"]
    r = CliRunner().invoke(main, ["call", "health", "--token", tok], env=env)
    assert r.exit_code == 0 and '"status": "ok"' in r.output
    r = CliRunner().invoke(
        main, ["call", "chat", "Say hi", f"model={SMOL}", "max_tokens=5", "--token", tok], env=env
    )
    assert r.exit_code == 0 and r.output.strip(), r.output
    r = CliRunner().invoke(
        main,
        [
            "call",
            "completions",
            "prompt=Once",
            f"model={SMOL}",
            "max_tokens=3",
            "--url",
            daemon.url,
            "--token",
            tok,
        ],
        env=env,
    )
    assert r.exit_code == 0 and '"text_completion"' in r.output
    r = CliRunner().invoke(main, ["call", "chat", "hi", "--token", daemon.tokens["translator"]], env=env)
    assert r.exit_code == 1 and "lacks the 'chat' scope" in r.output
    r = CliRunner().invoke(main, ["call", "nope"], env=env)
    assert r.exit_code == 1 and "endpoints:" in r.output
