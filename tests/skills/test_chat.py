"""Chat grounded in memory: question cues and ranking over a real encrypted memory file, the answer
check and repair on a scripted engine, and the real default chat model answering plain and
grounded questions over a week of multi-app history with distractors."""

from __future__ import annotations

import time
from typing import Any, Iterator, Sequence

import pytest

from benchmarks.assistant_data import PLAIN, push_week, week
from benchmarks.common import pinned_now
from runtime.engines.base import ChatMessage, GenerationOptions, TokenEvent
from runtime.engines.fake import FakeTextEngine
from skills.chat import ChatOptions, ChatSkill, is_bare
from skills.chat_context import rank, read_question

Q05 = "qwen2.5-coder-0.5b"
GREEDY = GenerationOptions(max_tokens=60, temperature=0.0, truncation="truncate_start")


@pytest.fixture
def memory(tmp_path):  # type: ignore[no-untyped-def]
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import FakeEmbedder

    m = MemorySkill(
        MemoryOptions(StoreOptions(tmp_path / "m.db", key_source="file")), embedder=FakeEmbedder()
    )
    yield m
    m.close()


@pytest.fixture(scope="module")
def week_memory(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A week of 1,500 events from mail, slack, signal, calendar, files, browser and notes."""
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import FakeEmbedder

    path = tmp_path_factory.mktemp("week") / "m.db"
    now = pinned_now()
    m = MemorySkill(
        MemoryOptions(StoreOptions(path, key_source="file"), clock=lambda: now), embedder=FakeEmbedder()
    )
    w = week(1500, now=now)
    ids = push_week(m, w)
    # rank as a user's memory does once its background embedding has caught up (it depends on it)
    assert m.wait_embedded(120)
    yield m, w, ids
    m.close()


def owner() -> Any:
    from skills.memory.model import Caller

    return Caller.user()


# -- the question's cues -------------------------------------------------------------------------
def test_questions_are_read_for_people_times_and_latest() -> None:
    now = time.mktime((2026, 12, 3, 15, 0, 0, 0, 0, -1))
    q = read_question("What did Ana ask me for?", now)
    assert q.people == ("Ana",) and q.asks and q.since is None
    q = read_question("Which flight did I look at two days ago?", now)
    assert q.since == time.mktime((2026, 12, 1, 0, 0, 0, 0, 0, -1)) and q.until == q.since + 86400
    assert read_question("what did I open yesterday", now).when == "yesterday"
    morning = read_question("What did I note this morning?", now)
    midnight = time.mktime((2026, 12, 3, 0, 0, 0, 0, 0, -1))
    assert morning.since is not None and morning.until is not None
    assert midnight <= morning.since < morning.until <= midnight + 13 * 3600
    q = read_question("What is the latest message from Carla Mendes?", now)
    assert q.latest and q.people == ("Carla Mendes",)
    assert read_question("Where is the team dinner?", now) == read_question("where is the team dinner", now)


def test_a_bare_citation_is_not_an_answer() -> None:
    for bare in ("[3]", " [1][2] ", "Ana. [1]", "[2] Yes.", ""):
        assert is_bare(bare), bare
    assert not is_bare("Ana asked you for the signed lease [1].")


@pytest.mark.parametrize(
    "question,key",
    [
        ("What did Ana ask me for?", "ana"),
        ("What did Bruno ask me for?", "bruno"),
        ("What did David ask me for?", "david"),
        ("Which PDF did I open yesterday?", "pdf"),
        ("Which flight did I look at two days ago?", "flight"),
        ("What is the latest message from Carla?", "carla"),
        ("When is my dentist appointment?", "dentist"),
        ("Who sent me the onboarding slides?", "grace"),
        ("What did I note this morning?", "note"),
        ("What time does Elena's train leave?", "elena"),
    ],
)
def test_retrieval_ranks_by_person_time_and_latest_over_word_overlap(
    week_memory, question: str, key: str
) -> None:  # type: ignore[no-untyped-def]
    m, _, ids = week_memory
    ranked = rank(m, owner(), question, limit=3, now=m.options.clock())
    assert ranked and ranked[0].event.id == ids[key], [r.event.title for r in ranked]


def test_a_person_question_never_cites_someone_else(week_memory) -> None:  # type: ignore[no-untyped-def]
    m, _, _ = week_memory
    for r in rank(m, owner(), "What did Bruno ask me for?", limit=3, now=m.options.clock()):
        e = r.event
        assert "bruno" in f"{e.title} {e.body} {' '.join(e.entities.people)}".lower()


def test_grounding_respects_the_callers_visibility(real_runtime, memory) -> None:  # type: ignore[no-untyped-def]
    from skills.memory.model import Caller

    memory.push(Caller("mail"), {"kind": "message", "title": "Signed contract", "body": "from Ana Lima"})
    chat = ChatSkill(real_runtime, memory)
    # another app without cross-app read sees none of mail's events, so nothing is given to the model
    assert chat.context_for(Caller("notes"), "who sent me the contract") == []
    assert chat.context_for(owner(), "who sent me the contract")


# -- the answer check and repair, on a scripted engine --------------------------------------------
class ScriptedRuntime:
    """Answers each chat call with the next scripted reply through the fake engine."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str | None, list[ChatMessage]]] = []

    def model_for(self, role: str) -> str:
        return f"model-for-{role}"

    def chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        model: str | None = None,
        cancel: Any = None,
    ) -> Iterator[TokenEvent]:
        self.calls.append((model, list(messages)))
        engine = FakeTextEngine(str(model), reply=self.replies.pop(0))
        prompt, stops = engine.chat_prompt(messages)
        return engine.stream(prompt, options, cancel)


def test_a_question_about_a_persons_request_with_no_record_says_so(memory) -> None:  # type: ignore[no-untyped-def]
    """Nothing from Ana in memory: the answer says so instead of letting the model invent a request
    (the 0.5B model answered "Ana asked me for a list of books" over an empty memory)."""
    from skills.chat import NOTHING_FOUND
    from skills.memory.model import Caller

    memory.push(Caller("mail"), {"kind": "message", "title": "lunch", "body": "Bruno: lunch at noon?"})
    rt = ScriptedRuntime("Ana asked you for a list of books.")
    answer = ChatSkill(rt, memory).answer([ChatMessage("user", "What did Ana ask me for?")], owner())
    assert answer.text == NOTHING_FOUND and not answer.citations and rt.calls == []
    # a plain question still goes to the model
    plain = ChatSkill(ScriptedRuntime("Paris."), memory).answer(
        [ChatMessage("user", "What is the capital of France?")], owner()
    )
    assert plain.text == "Paris."


def _pushed(memory) -> int:  # type: ignore[no-untyped-def]
    from skills.memory.model import Caller

    res = memory.push(
        Caller("mail"),
        {
            "kind": "message",
            "title": "Lisbon office lease",
            "body": "Could you send me the signed lease contract by Friday?",
            "entities": {"people": ["Ana Lima"]},
        },
    )
    return int(res.id)


def test_a_bare_citation_is_asked_again_and_the_sentence_kept(memory) -> None:  # type: ignore[no-untyped-def]
    ev = _pushed(memory)
    rt = ScriptedRuntime("[1]", "Ana asked you to send the signed lease contract [1].")
    chat = ChatSkill(rt, memory)
    stream = chat.stream([ChatMessage("user", "What did Ana ask me for?")], owner())
    shown = []
    while True:
        try:
            shown.append(next(stream))
        except StopIteration as stop:
            answer = stop.value
            break
    assert "".join(shown) == answer.text == "Ana asked you to send the signed lease contract [1]."
    assert "[1]" not in shown[0] or not is_bare(shown[0])  # the bare "[1]" never reached the reader
    assert answer.repaired == "retried" and [c.id for c in answer.citations] == [ev]
    assert answer.model == "model-for-grounded" and len(rt.calls) == 2
    # the retry keeps the fixed system turn, so its KV prefix is reused
    assert rt.calls[0][1][0] == rt.calls[1][1][0] and rt.calls[0][1][0].role == "system"


def test_when_asking_again_fails_the_answer_is_written_from_the_record(memory) -> None:  # type: ignore[no-untyped-def]
    ev = _pushed(memory)
    chat = ChatSkill(ScriptedRuntime("[1]", "[1]."), memory)
    answer = chat.answer([ChatMessage("user", "What did Ana ask me for?")], owner())
    assert answer.repaired == "from_record" and not is_bare(answer.text)
    assert "lease" in answer.text and answer.text.endswith("[1]") and answer.citations[0].id == ev


def test_an_uncited_answer_cites_the_record_it_draws_on(memory) -> None:  # type: ignore[no-untyped-def]
    from skills.memory.model import Caller

    memory.push(
        Caller("calendar"), {"kind": "calendar", "title": "Dentist appointment", "body": "Thursday 9:30"}
    )
    ev = _pushed(memory)
    chat = ChatSkill(ScriptedRuntime("She wants the signed lease contract."), memory)
    answer = chat.answer(
        [ChatMessage("user", "What did Ana ask me for?")], owner(), ChatOptions(max_context=3)
    )
    assert answer.text.endswith("[1]") and [c.id for c in answer.citations] == [ev]


def test_plain_chat_uses_the_chat_role_and_gives_no_citations() -> None:
    rt = ScriptedRuntime("Hello there!")
    answer = ChatSkill(rt, None).answer([ChatMessage("user", "Say hello.")])
    assert answer.text == "Hello there!" and answer.citations == () and answer.model == "model-for-chat"


# -- the real default chat model -------------------------------------------------------------------
@pytest.mark.real_model
def test_plain_everyday_questions_on_the_05b_model(real_runtime) -> None:  # type: ignore[no-untyped-def]
    chat = ChatSkill(real_runtime, None)
    picked = PLAIN[:10]
    right = [
        q.text
        for q in picked
        if q.correct(
            chat.answer([ChatMessage("user", q.text)], options=ChatOptions(model=Q05, generation=GREEDY)).text
        )
    ]
    # the 0.5B model gets about half of these (bench_assistant.py has the full set and the 1.5B
    # model's score); this guards the plain path - an answer that says the thing - not the model
    assert len(right) >= 4, right


@pytest.mark.real_model
@pytest.mark.parametrize("key", ["ana", "bruno", "pdf", "carla", "dentist"])
def test_grounded_answers_over_a_week_of_history_say_the_thing_and_cite_it(
    real_runtime, week_memory, key: str
) -> None:  # type: ignore[no-untyped-def]
    m, w, ids = week_memory
    q = next(q for q in w.questions if q.key == key)
    chat = ChatSkill(real_runtime, m, clock=m.options.clock)
    answer = chat.answer([ChatMessage("user", q.text)], owner(), ChatOptions(model=Q05, generation=GREEDY))
    assert q.correct(answer.text), answer.text
    assert not is_bare(answer.text) and ids[key] in [c.id for c in answer.citations]


@pytest.mark.real_model
def test_a_real_bare_citation_is_repaired_into_a_sentence(real_runtime, memory) -> None:  # type: ignore[no-untyped-def]
    ev = _pushed(memory)

    class BareFirst:
        """The real runtime, except that its first answer is forced to a bare citation."""

        def __init__(self) -> None:
            self.first = True

        def model_for(self, role: str) -> str:
            return Q05

        def chat(
            self, messages: Any, options: GenerationOptions, model: Any = None, cancel: Any = None
        ) -> Any:
            if self.first:
                self.first = False
                from dataclasses import replace

                options = replace(options, grammar='root ::= "[1]"')
            return real_runtime.chat(messages, options, model=model, cancel=cancel)

    chat = ChatSkill(BareFirst(), memory)
    answer = chat.answer(
        [ChatMessage("user", "What did Ana ask me for?")], owner(), ChatOptions(generation=GREEDY)
    )
    assert answer.repaired in ("retried", "from_record") and not is_bare(answer.text)
    assert "lease" in answer.text.lower() or "contract" in answer.text.lower()
    assert [c.id for c in answer.citations] == [ev]


@pytest.mark.real_model
def test_the_fixed_system_prefix_is_reused_across_requests(real_runtime, week_memory) -> None:  # type: ignore[no-untyped-def]
    m, _, _ = week_memory
    chat = ChatSkill(real_runtime, m, clock=m.options.clock)
    opts = ChatOptions(model=Q05, generation=GenerationOptions(max_tokens=8, temperature=0.0), repair=False)
    chat.answer([ChatMessage("user", "Where is the team dinner?")], owner(), opts)
    second = chat.answer([ChatMessage("user", "When is my dentist appointment?")], owner(), opts)
    assert second.stats is not None and second.stats.cached_tokens >= 60  # the rules' tokens
    assert second.stats.evaluated_prompt_tokens < second.stats.prompt_tokens
