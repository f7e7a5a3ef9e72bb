"""The official ollama client against a real daemon: chat (whole and streamed), generate, list, show,
ps, embed, pull, tools and format; and the refusals (no token, wrong scope, bad format, the
tokenless opt-in's limits)."""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import ollama
import pytest

from tests.daemon.helpers import SMOL, Daemon
from tests.daemon.test_tools import TOOLS, validate

pytestmark = pytest.mark.real_model
QWEN = "qwen2.5-coder-0.5b"
GREEDY = {"temperature": 0, "num_predict": 12}


def _client(d: Daemon, token: str | None = "chatter") -> ollama.Client:
    headers = {"Authorization": f"Bearer {d.tokens[token]}"} if token else {}
    return ollama.Client(host=d.url, headers=headers, timeout=300)


@pytest.fixture(scope="module")
def oll(daemon: Daemon, smollm_id: str) -> ollama.Client:
    return _client(daemon)


def test_chat_whole_and_streamed(oll: ollama.Client) -> None:
    msgs = [{"role": "user", "content": "Name a colour."}]
    r = oll.chat(model=SMOL, messages=msgs, options=GREEDY, stream=False)
    assert r.done and r.message.role == "assistant" and r.message.content.strip()
    assert r.done_reason in ("stop", "length") and r.eval_count is not None and 0 < r.eval_count <= 12
    assert r.prompt_eval_count and r.prompt_eval_count > 5
    parts = list(oll.chat(model=SMOL, messages=msgs, options=GREEDY, stream=True))
    assert len([p for p in parts if p.message.content]) > 2  # really streamed, line by line
    assert [p.done for p in parts].count(True) == 1 and parts[-1].done
    assert "".join(p.message.content for p in parts).strip()


def test_generate_whole_and_streamed(oll: ollama.Client) -> None:
    r = oll.generate(model=SMOL + ":latest", prompt="The capital of France is", options=GREEDY, stream=False)
    assert r.done and r.response.strip() and r.eval_count and r.eval_count <= 12
    parts = list(oll.generate(model=SMOL, prompt="Once upon a time", raw=True, options=GREEDY, stream=True))
    assert len(parts) > 2 and parts[-1].done and "".join(p.response for p in parts).strip()


def test_format_json_schema(oll: ollama.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "rank": {"type": "integer"}},
        "required": ["city", "rank"],
    }
    r = oll.chat(
        model=SMOL,
        messages=[{"role": "user", "content": "Give a city and a rank as JSON."}],
        format=schema,
        options={"temperature": 0, "num_predict": 60},
    )
    validate(json.loads(r.message.content), schema)


def test_tools(daemon: Daemon, qwen_id: str) -> None:
    r = _client(daemon).chat(
        model=QWEN,
        messages=[{"role": "user", "content": "What is the weather like in Paris right now?"}],
        tools=TOOLS,
        options={"num_predict": 80},
    )
    if r.message.tool_calls:  # a 0.5B model may answer in words; a call it makes must be well formed
        for call in r.message.tool_calls:
            schema = next(
                t["function"]["parameters"] for t in TOOLS if t["function"]["name"] == call.function.name
            )
            validate(dict(call.function.arguments), schema)
    else:
        assert r.message.content


def test_list_show_ps_version(oll: ollama.Client, daemon: Daemon) -> None:
    names = {m.model: m for m in oll.list().models}
    assert SMOL in names and names[SMOL].size and names[SMOL].details and names[SMOL].details.format == "gguf"
    shown = oll.show(SMOL)
    assert shown.capabilities and "completion" in shown.capabilities
    assert shown.modelinfo and shown.modelinfo["context_length"] > 0
    oll.chat(model=SMOL, messages=[{"role": "user", "content": "hi"}], options={"num_predict": 1})
    running = {m.model for m in oll.ps().models}
    assert SMOL in running
    with daemon.tcp("chatter") as c:
        assert c.get("/api/version").json()["version"]


@pytest.mark.filterwarnings("ignore:no OS keyring")  # the memory skill's key-file warning, in CI
def test_embed(oll: ollama.Client) -> None:
    r = oll.embed(model="minilm-l6-int8", input=["a cat", "a kitten", "a tax form"])
    v = r.embeddings
    assert len(v) == 3 and len(v[0]) == 384
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
    assert dot(v[0], v[1]) > dot(v[0], v[2])


def test_pull_is_the_verified_store(daemon: Daemon) -> None:
    admin = _client(daemon, "admin")
    assert admin.pull(SMOL).status == "success"  # installed already: verified, nothing fetched
    with pytest.raises(ollama.ResponseError) as err:
        admin.pull("llama3:8b")
    assert err.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as err:
        _client(daemon).pull(SMOL)  # installing needs the admin scope
    assert err.value.status_code == 403


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"format": {"foo": "bar"}}, "format"),
        ({"format": {"type": "object", "not": {}}}, "format"),
        ({"options": {"num_ctx": 10_000_000}}, "options.num_ctx"),
        ({"keep_alive": "soon"}, "keep_alive"),
        ({"messages": [{"role": "user", "content": "x", "images": ["aGk="]}]}, "messages[0].images"),
        ({"model": "no-such-model"}, "model"),
    ],
)
def test_refusals_name_the_field(daemon: Daemon, kwargs: dict[str, Any], field: str) -> None:
    body = {"model": SMOL, "messages": [{"role": "user", "content": "x"}], "stream": False, **kwargs}
    with daemon.tcp("chatter") as c:
        r = c.post("/api/chat", json=body)
    assert r.status_code in (400, 404), r.text
    assert r.json()["error"]["field"] == field


def test_needs_a_token_and_the_scope(daemon: Daemon) -> None:
    with pytest.raises(ollama.ResponseError) as err:
        _client(daemon, None).list()
    assert err.value.status_code == 401
    with pytest.raises(ollama.ResponseError) as err:
        _client(daemon, "translator").chat(model=SMOL, messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 403


@pytest.fixture
def tokenless(daemon: Daemon) -> Iterator[None]:
    daemon.registry.add("ollama-tokenless", "chat")
    yield
    daemon.registry.revoke("ollama-tokenless")


def test_tokenless_opt_in(daemon: Daemon, tokenless: None, smollm_id: str) -> None:
    bare = _client(daemon, None)
    assert SMOL in {m.model for m in bare.list().models}
    r = bare.chat(model=SMOL, messages=[{"role": "user", "content": "hi"}], options={"num_predict": 2})
    assert r.done
    with pytest.raises(ollama.ResponseError) as err:
        bare.pull(SMOL)  # only the scopes the user granted
    assert err.value.status_code == 403
    with httpx.Client(base_url=daemon.url) as c:
        assert c.get("/v1/models").status_code == 401  # the opt-in covers /api/* only
        assert c.get("/api/tags", headers={"Origin": "http://evil.example"}).status_code == 403
        assert c.get("/api/tags", headers={"Host": "rebind.example:80"}).status_code == 403


def _loaded(oll: ollama.Client) -> dict[str, Any]:
    return {m.model: m for m in oll.ps().models}


def test_keep_alive_per_model(oll: ollama.Client, daemon: Daemon) -> None:
    import time

    sched = daemon.services.runtime.scheduler
    default = sched.keep_alive
    sched.keep_alive = 1.0  # the daemon's own keep-alive, short, so "forever" has something to outlast
    try:
        oll.generate(model=SMOL, prompt="Hi", options={"num_predict": 1}, keep_alive=-1)
        time.sleep(3)  # three times the daemon's keep-alive, no request in between
        forever = _loaded(oll)[SMOL]
        assert forever.expires_at is not None and forever.expires_at.year > 9000
        oll.generate(model=SMOL, prompt="Hi", options={"num_predict": 1}, keep_alive="1s")
        shown = _loaded(oll).get(SMOL)
        assert shown is None or shown.expires_at.timestamp() - time.time() < 5  # type: ignore[union-attr]
        deadline = time.monotonic() + 20
        while SMOL in _loaded(oll) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert SMOL not in _loaded(oll)  # gone without another request: the keep-alive ran out
        oll.generate(model=SMOL, prompt="", keep_alive="2h")  # load only, kept two hours
        left = _loaded(oll)[SMOL].expires_at.timestamp() - time.time()  # type: ignore[union-attr]
        assert 7000 < left <= 7200
    finally:
        sched.keep(SMOL, None)
        sched.keep_alive = default


def test_show_reads_the_models_own_gguf(oll: ollama.Client, daemon: Daemon, qwen_id: str) -> None:
    from runtime.gguf import human_count

    with daemon.services.runtime.scheduler.use(SMOL) as eng:  # llama.cpp's own reading, to compare
        meta = dict(eng.llm.metadata)
        n_params = eng.llm._model.n_params()
    shown = oll.show(SMOL)
    assert shown.template and shown.template == meta["tokenizer.chat_template"]
    info = shown.modelinfo or {}
    assert info["general.architecture"] == "llama" and info["general.name"] == meta["general.name"]
    assert info["llama.context_length"] == int(meta["llama.context_length"])
    assert info["general.parameter_count"] == n_params and info["tokenizer.ggml.tokens"] == []
    assert shown.details is not None and shown.details.family == "llama"
    assert shown.details.parameter_size == human_count(n_params) == "134.52M"
    params = dict(line.split(None, 1) for line in (shown.parameters or "").splitlines())
    assert params["stop"] == '"<|im_end|>"' and params["num_ctx"] == "4096" and params["top_k"] == "40"
    assert shown.modelfile and 'TEMPLATE """' in shown.modelfile and "PARAMETER stop" in shown.modelfile
    assert "<tool_call>" in (oll.show(QWEN + ":latest").template or "")  # Qwen's template renders tools
    with daemon.tcp("chatter") as c:  # verbose: the arrays too, as Ollama
        full = c.post("/api/show", json={"model": SMOL, "verbose": True}).json()["model_info"]
    assert len(full["tokenizer.ggml.tokens"]) == int(meta.get("llama.vocab_size", 49152))
    assert full["tokenizer.ggml.tokens"][int(meta["tokenizer.ggml.eos_token_id"])] == "<|im_end|>"
