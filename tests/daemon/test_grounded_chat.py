"""Grounded chat for apps through the official openai client: `extra_body={"grounding": {...}}` on
/v1/chat/completions answers from the app's visible memory with structured citations; an app
without memory:read gets a plain answer and a note saying why."""

from __future__ import annotations

from typing import Any, Iterator

import openai
import pytest

from runtime.config import Config
from tests.daemon.helpers import SMOL, Daemon, start_daemon, stop_daemon

pytestmark = pytest.mark.real_model
Q05 = "qwen2.5-coder-0.5b"
ASK = {"grounding": {"memory": True}}


@pytest.fixture(scope="module")
def grounded_daemon(
    tmp_path_factory: pytest.TempPathFactory, real_runtime: Any
) -> Iterator[tuple[Daemon, dict[str, str], Any]]:
    from assistant.services import Services
    from skills.memory import Caller, MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import FakeEmbedder

    root = tmp_path_factory.mktemp("g")
    memory = MemorySkill(
        MemoryOptions(StoreOptions(root / "m.db", key_source="file")), embedder=FakeEmbedder()
    )
    lease = memory.push(
        Caller("mail"),
        {
            "kind": "message",
            "title": "Lisbon office lease",
            "body": "Could you send me the signed lease contract by Friday?",
            "entities": {"people": ["Ana Lima"]},
        },
    )
    chit_chat = {"kind": "message", "title": "Lunch", "body": "Haha, see you at lunch."}
    memory.push(Caller("mail"), {**chit_chat, "entities": {"people": ["Ana Lima"]}})
    memory.push(
        Caller("calendar"), {"kind": "calendar", "title": "Dentist appointment", "body": "Thursday 9:30"}
    )
    services = Services(
        Config.from_env({"ASSISTANT_HOME": str(root)}).with_(chat_model=SMOL),
        runtime=real_runtime,
        overrides={"memory": memory},
    )
    d = start_daemon(root, services, request_timeout=300.0)
    tokens = {
        "reader": d.registry.add("reader", "chat,memory:read"),
        "mailapp": d.registry.add("mail", "chat,memory:read"),
    }
    memory.grant(Caller.user(), "reader")  # the user lets "reader" see every app's events
    yield d, tokens, lease.id
    stop_daemon(d)
    memory.close()


def _client(d: Daemon, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{d.url}/v1", api_key=token, max_retries=0, timeout=300)


def test_a_grounded_answer_says_the_thing_and_returns_its_citations(grounded_daemon: Any) -> None:
    d, tokens, lease = grounded_daemon
    oai = _client(d, tokens["reader"])
    r = oai.chat.completions.create(
        model=Q05,
        messages=[{"role": "user", "content": "What did Ana ask me for?"}],
        temperature=0,
        max_tokens=60,
        extra_body=ASK,
    )
    text = r.choices[0].message.content or ""
    assert "lease" in text.lower() or "contract" in text.lower()
    g = r.model_extra["grounding"]  # type: ignore[index]
    assert g["used"] is True and g["note"] is None
    assert [c["id"] for c in g["citations"]] == [lease]
    c = g["citations"][0]
    assert c["app"] == "mail" and c["kind"] == "message" and f"[{c['n']}]" in text


def test_streamed_grounded_answers_carry_citations_on_the_last_chunk(grounded_daemon: Any) -> None:
    d, tokens, lease = grounded_daemon
    oai = _client(d, tokens["reader"])
    chunks = list(
        oai.chat.completions.create(
            model=Q05,
            messages=[{"role": "user", "content": "What did Ana ask me for?"}],
            temperature=0,
            max_tokens=60,
            stream=True,
            extra_body=ASK,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = [c for c in chunks if (c.model_extra or {}).get("grounding")]
    assert len(last) == 1 and last[0].choices[0].finish_reason in ("stop", "length")
    assert [x["id"] for x in last[0].model_extra["grounding"]["citations"]] == [lease]  # type: ignore[index]
    assert "lease" in text.lower() or "contract" in text.lower()


def test_an_app_sees_only_its_own_memory_unless_granted(grounded_daemon: Any) -> None:
    d, tokens, _ = grounded_daemon
    # "mail" has memory:read but no cross-app grant: the calendar's dentist event is not its to read
    r = _client(d, tokens["mailapp"]).chat.completions.create(
        model=Q05,
        messages=[{"role": "user", "content": "When is my dentist appointment?"}],
        temperature=0,
        max_tokens=40,
        extra_body=ASK,
    )
    g = r.model_extra["grounding"]  # type: ignore[index]
    assert all(c["app"] == "mail" for c in g["citations"])
    assert "9:30" not in (r.choices[0].message.content or "")


def test_an_app_without_memory_read_gets_plain_chat_and_is_told(grounded_daemon: Any) -> None:
    d, _, _ = grounded_daemon
    r = _client(d, d.tokens["chatter"]).chat.completions.create(
        model=Q05,
        messages=[{"role": "user", "content": "What did Ana ask me for?"}],
        temperature=0,
        max_tokens=30,
        extra_body=ASK,
    )
    g = r.model_extra["grounding"]  # type: ignore[index]
    assert g["used"] is False and g["citations"] == [] and "memory:read" in g["note"]
    assert "lease" not in (r.choices[0].message.content or "").lower()


def test_bad_grounding_options_are_refused_naming_the_field(grounded_daemon: Any) -> None:
    d, tokens, _ = grounded_daemon
    with pytest.raises(openai.UnprocessableEntityError) as err:
        _client(d, tokens["reader"]).chat.completions.create(
            model=Q05,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"grounding": {"memory": True, "max_records": 99}},
        )
    assert "max_records" in str(err.value)
