"""Busy models, timeouts, disconnects and concurrency, over real sockets."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.daemon.helpers import SMOL, Daemon

CHAT = {"model": SMOL, "messages": [{"role": "user", "content": "hi"}]}


def test_full_queue_is_429_and_long_wait_is_503(fake_daemon: Daemon) -> None:
    # fake engine: 60 tokens at 10 ms each hold the model 0.6 s; queue depth 1, queue wait 0.3 s
    body = {**CHAT, "max_tokens": 60}

    def post(_: int) -> httpx.Response:
        with fake_daemon.unix() as c:
            return c.post("/v1/chat/completions", json=body)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(post, range(6)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 429, 503} and 503 in statuses, statuses
    for r in results:
        if r.status_code in (429, 503):
            err = r.json()["error"]
            assert err["code"] == ("queue_full" if r.status_code == 429 else "busy")
            assert r.headers["retry-after"] == "1" and err["fix"]
    # 429 needs the queue to be full at arrival: hold the model, fill the one queue slot, then ask again
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(post, 0)
        time.sleep(0.1)
        second = pool.submit(post, 1)
        time.sleep(0.05)
        third = post(2)
        assert third.status_code == 429, third.text
        assert third.json()["error"]["code"] == "queue_full"
        first.result(), second.result()


def test_request_timeout_is_504_or_an_sse_error(fake_daemon: Daemon) -> None:
    # the fake daemon stops requests after 1 s; 220 tokens at 10 ms take 2.2 s
    body = {**CHAT, "max_tokens": 400}
    with fake_daemon.unix() as c:
        t0 = time.monotonic()
        r = c.post("/v1/chat/completions", json=body)
        assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
        assert time.monotonic() - t0 < 2.0
        lines = [
            ln for ln in c.post("/v1/chat/completions", json={**body, "stream": True}).text.splitlines() if ln
        ]
    assert '"code": "timeout"' in lines[-2] and lines[-1] == "data: [DONE]"
    assert fake_daemon.app.state.metrics.last[SMOL][0] == "cancelled"


def test_disconnect_mid_stream_stops_generation(daemon: Daemon) -> None:
    metrics = daemon.app.state.metrics
    received = 0
    with daemon.unix() as c:
        with c.stream(
            "POST",
            "/v1/chat/completions",
            json={
                **CHAT,
                "max_tokens": 400,
                "temperature": 0.8,
                "seed": 1,
                "stream": True,
                "messages": [{"role": "user", "content": "Tell me a very long story about a fox."}],
            },
        ) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith("data: {") and '"content":"' in line and '"content":""' not in line:
                    received += 1
                if received >= 5:
                    break
        closed_at = time.monotonic()
    while metrics.last.get(SMOL, ("", 0))[0] != "cancelled":
        assert time.monotonic() - closed_at < 5, f"generation went on: {metrics.last.get(SMOL)}"
        time.sleep(0.01)
    finish, generated = metrics.last[SMOL]
    # stopped within a step or two of the disconnect, not after 400 tokens
    assert generated < received + 12, (generated, received)


def test_sixteen_concurrent_streaming_chats_complete(daemon: Daemon) -> None:
    from assistant.client import AsyncClient, ClientOptions

    async def one(i: int) -> str:
        async with AsyncClient(ClientOptions(socket_path=daemon.socket, token=daemon.tokens["chatter"])) as c:
            parts = [
                t
                async for t in c.chat_stream(f"Say the number {i}.", model=SMOL, max_tokens=4, temperature=0)
            ]
        return "".join(parts)

    async def all16() -> list[str]:
        return await asyncio.gather(*(one(i) for i in range(16)))

    texts = asyncio.run(all16())
    assert len(texts) == 16 and all(t.strip() for t in texts)


@pytest.mark.parametrize("stream", [False, True])
def test_metrics_report_generation(daemon: Daemon, stream: bool) -> None:
    with daemon.unix() as c:
        r = c.post(
            "/v1/completions",
            json={"model": SMOL, "prompt": "Once upon a time", "max_tokens": 4, "stream": stream},
        )
        assert r.status_code == 200
        text = c.get("/metrics").text
    assert f'assistant_generated_tokens_total{{model="{SMOL}"}}' in text
    assert f'assistant_model_loads_total{{model="{SMOL}"}} 1' in text
    assert f'assistant_model_queue_depth{{model="{SMOL}"}} 0' in text
    assert 'assistant_time_to_first_token_seconds_count{model="smollm2-135m"}' in text
