"""Chat grounded in memory, with the real default chat model and a real encrypted memory file."""

from __future__ import annotations

import pytest

from runtime.engines.base import ChatMessage, GenerationOptions
from skills.chat import ChatOptions, ChatSkill

pytestmark = pytest.mark.real_model


@pytest.fixture
def memory(tmp_path):  # type: ignore[no-untyped-def]
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import FakeEmbedder

    m = MemorySkill(
        MemoryOptions(StoreOptions(tmp_path / "m.db", key_source="file")), embedder=FakeEmbedder()
    )
    yield m
    m.close()


def test_who_sent_me_the_contract_names_the_sender_and_cites_the_message(real_runtime, qwen_id, memory) -> None:  # type: ignore[no-untyped-def]
    from skills.memory.model import Caller

    mail = Caller("mail")
    ev = memory.push(
        mail,
        {
            "kind": "message",
            "title": "Signed contract for the Lisbon office",
            "body": "Hi, attached is the signed lease contract. Best, Ana Lima",
            "entities": {"people": ["Ana Lima"], "files": ["lease-contract.pdf"]},
        },
    )
    memory.push(
        Caller("calendar"), {"kind": "calendar", "title": "Dentist appointment", "body": "Tuesday 9am"}
    )
    chat = ChatSkill(real_runtime, memory)
    answer = chat.answer(
        [ChatMessage("user", "Who sent me the contract?")],
        caller=Caller("user", owner=True),
        options=ChatOptions(
            model="qwen2.5-coder-0.5b",
            generation=GenerationOptions(max_tokens=60, temperature=0.0, truncation="truncate_start"),
        ),
    )
    assert "ana" in answer.text.lower()
    assert [c.id for c in answer.citations] == [ev.id]
    assert answer.citations[0].app == "mail"


def test_grounding_respects_the_callers_visibility(real_runtime, memory) -> None:  # type: ignore[no-untyped-def]
    from skills.memory.model import Caller

    memory.push(Caller("mail"), {"kind": "message", "title": "Signed contract", "body": "from Ana Lima"})
    chat = ChatSkill(real_runtime, memory)
    # another app without cross-app read sees none of mail's events, so nothing is given to the model
    assert chat.context_for(Caller("notes"), "who sent me the contract") == []
    assert chat.context_for(Caller("user", owner=True), "who sent me the contract")


def test_chat_without_memory_is_plain_chat(real_runtime, smollm_id) -> None:  # type: ignore[no-untyped-def]
    chat = ChatSkill(real_runtime, None)
    answer = chat.answer([ChatMessage("user", "Say hello.")], options=ChatOptions(model="smollm2-135m"))
    assert answer.text.strip() and answer.citations == ()
