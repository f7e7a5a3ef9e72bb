"""Session logic against fake engines driven by the real scheduler: type-through, budget,
cancellation, backspace and mid-text edits, KV switching between sessions, learning hooks."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from skills.autocomplete import Autocomplete, CompleteRequest, Feedback, StaticContext

Make = Callable[..., Autocomplete]


def fake(ac: Autocomplete, mid: str = "fake-prose") -> Any:
    return ac.engines.engines[mid]  # type: ignore[attr-defined]


def test_model_suggestion_stops_at_sentence_end(make_fake: Make) -> None:
    ac = make_fake(reply="the meeting moved. Then more")
    r = ac.complete(CompleteRequest("I think "))
    assert r.model_called and r.text == "the meeting moved."
    assert r.suggestions[0].source == "model" and not r.partial


def test_type_through_answers_without_the_model(make_fake: Make) -> None:
    ac = make_fake(reply="world is round.")
    first = ac.complete(CompleteRequest("Hello "))
    calls = fake(ac).calls
    nxt = ac.complete(CompleteRequest("Hello wor"))
    assert nxt.text == "ld is round." and nxt.suggestions[0].source == "type_through"
    assert not nxt.model_called and fake(ac).calls == calls
    assert first.text == "world is round."


def test_exhausted_suggestion_calls_the_model_again(make_fake: Make) -> None:
    ac = make_fake(reply="ok.")
    ac.complete(CompleteRequest("Say "))
    r = ac.complete(CompleteRequest("Say ok."))
    assert r.model_called


def test_backspace_never_reuses_the_old_suggestion(make_fake: Make) -> None:
    ac = make_fake(reply="abc.")
    ac.complete(CompleteRequest("Hello world"))
    before = fake(ac).calls
    r = ac.complete(CompleteRequest("Hello worl"))  # backspace: prefix is shorter than the anchor
    assert r.model_called and fake(ac).calls == before + 1
    # the KV prefix shared with the previous prompt is reused, and nothing beyond it
    assert r.cached_tokens == len("Hello worl") - 1 and r.evaluated_prompt_tokens == 1


def test_mid_text_edit_reevaluates_from_the_edit(make_fake: Make) -> None:
    ac = make_fake(reply="x.")
    ac.complete(CompleteRequest("The cat sat on the "))
    r = ac.complete(CompleteRequest("The bat sat on the "))
    assert r.model_called and r.cached_tokens == len("The ")
    assert r.evaluated_prompt_tokens == len("The bat sat on the ") - len("The ")


def test_extending_the_prefix_evaluates_only_new_tokens(make_fake: Make) -> None:
    ac = make_fake(reply="zzz zzz.")
    cold = ac.complete(CompleteRequest("Once upon a time there "))
    warm = ac.complete(CompleteRequest("Once upon a time there was"))  # diverges from "zzz"
    assert cold.evaluated_prompt_tokens == len("Once upon a time there ")
    assert warm.evaluated_prompt_tokens == len("was")


def test_budget_returns_partial_and_generation_continues(make_fake: Make) -> None:
    ac = make_fake(reply="slowly growing words here.", token_delay=0.01)
    r = ac.complete(CompleteRequest("It is ", budget_ms=60))
    assert r.partial and r.latency_ms < 200
    assert len(r.text) < len("slowly growing words here.")
    time.sleep(0.5)  # the worker finishes to the boundary meanwhile
    later = ac.complete(CompleteRequest("It is s", budget_ms=60))
    assert later.text == "lowly growing words here." and not later.model_called and not later.partial


def test_newer_keystroke_cancels_the_stale_generation(make_fake: Make) -> None:
    ac = make_fake(reply="a b c d e f g h i j k l m n o p.", token_delay=0.05, max_tokens_prose=40)
    out: dict[str, Any] = {}

    def first() -> None:
        out["r"] = ac.complete(CompleteRequest("Letters: ", budget_ms=5000))

    t = threading.Thread(target=first)
    t.start()
    time.sleep(0.15)
    stale = ac._sessions[("cli", "default")].current
    ac.complete(CompleteRequest("Letters: z", budget_ms=5000))
    t.join(5)
    assert out["r"].cancelled and not out["r"].partial
    assert stale is not None and stale.done and stale.stats is not None
    assert stale.stats.finish_reason == "cancelled" and stale.stats.completion_tokens < 10


def test_sessions_keep_their_own_kv_state(make_fake: Make) -> None:
    ac = make_fake(reply="q.")
    a = "Alpha document text that is fairly long, "
    b = "Beta notes that differ from the start, "
    ac.complete(CompleteRequest(a, doc="a"))
    ac.complete(CompleteRequest(b, doc="b"))
    back = ac.complete(CompleteRequest(a + "m", doc="a"))
    assert back.cached_tokens == len(a) and back.evaluated_prompt_tokens == 1


def test_code_uses_fim_prompt_with_suffix_and_stops_at_line_end(make_fake: Make) -> None:
    ac = make_fake(reply="a + b\n    return c")
    r = ac.complete(CompleteRequest("def f(a, b):\n    c = ", suffix="\n    return c\n", kind="code"))
    assert r.text == "a + b" and r.model_id == "fake-code"
    assert fake(ac, "fake-code")._kv[:5] == [ord(c) for c in "<pre>"]


def test_code_suffix_change_is_not_type_through(make_fake: Make) -> None:
    ac = make_fake(reply="1\n")
    ac.complete(CompleteRequest("x = ", suffix="\ny = 2", kind="code"))
    r = ac.complete(CompleteRequest("x = ", suffix="\ny = 3", kind="code"))
    assert r.model_called


def test_sensitive_fields_get_no_suggestion_and_no_model_call(make_fake: Make) -> None:
    ac = make_fake(reply="hunter2")
    r = ac.complete(CompleteRequest("my password is ", sensitive=True))
    assert r.suggestions == () and not r.model_called and fake(ac).calls == 0


def test_learned_phrase_is_suggested_instantly(make_fake: Make) -> None:
    ac = make_fake(reply="something else.")
    for _ in range(2):
        ac.feedback(Feedback("Kind regards, ", "Ana Lima"))
    r = ac.complete(CompleteRequest("Kind regards, A"))
    assert r.text == "na Lima" and r.suggestions[0].source == "phrase" and not r.model_called
    assert fake(ac).calls == 0


def test_phrase_seen_once_reranks_agreeing_model_output(make_fake: Make) -> None:
    ac = make_fake(reply="the report.")
    base = ac.complete(CompleteRequest("Please send ", doc="x")).suggestions[0].score
    ac.feedback(Feedback("Please send ", "the report"))
    r = ac.complete(CompleteRequest("Please send ", doc="y"))
    assert r.suggestions[0].source == "model" and r.suggestions[0].score > base


def test_recent_names_from_context_are_offered(make_fake: Make) -> None:
    ac = make_fake(reply="nything.")
    ac.context = StaticContext(["Marisol", "Mark"])
    r = ac.complete(CompleteRequest("Lunch with Mari"))
    assert r.text == "sol" and r.suggestions[0].source == "name"


def test_sessions_are_capped_lru(make_fake: Make) -> None:
    ac = make_fake(reply="k.", max_sessions=2)
    for d in ("a", "b", "c"):
        ac.complete(CompleteRequest("Text ", doc=d))
    assert ac.sessions() == [("cli", "b"), ("cli", "c")]


def test_type_through_while_generating_answers_at_once(make_fake: Make) -> None:
    """Typing the predicted characters while the model is still generating returns what is already
    known immediately, instead of waiting out the budget for the rest."""
    import time

    ac = make_fake(reply="world is round and blue.", token_delay=0.05)
    first = ac.complete(CompleteRequest("Hello ", budget_ms=250))
    assert first.partial and first.text.startswith("wor")
    t0 = time.perf_counter()
    nxt = ac.complete(CompleteRequest("Hello w", budget_ms=2000))
    took = time.perf_counter() - t0
    assert nxt.suggestions and nxt.suggestions[0].source == "type_through"
    assert ("w" + nxt.text).startswith(first.text[:3]) and not nxt.model_called
    assert took < 0.3  # far below the 2 s budget: it did not wait for the generation to finish


def test_typing_ahead_of_a_running_generation_follows_it(make_fake: Make) -> None:
    """Keys typed faster than the model generates neither wait for it nor restart it; once it has
    caught up and still agrees, its text answers them."""
    ac = make_fake(reply="world is round.", token_delay=0.03, word_completion=False)
    first = ac.complete(CompleteRequest("Hello ", budget_ms=1))  # returns at once, generation goes on
    assert first.model_called and first.partial
    ahead = ac.complete(CompleteRequest("Hello w", budget_ms=2000))
    assert ahead.partial and not ahead.model_called and ahead.latency_ms < 20 and fake(ac).calls == 1
    p = ac._sessions[("cli", "default")].current
    assert p is not None and not p.stale
    with p.cond:
        p.cond.wait_for(lambda: len(p.text) >= 6, timeout=5)
    nxt = ac.complete(CompleteRequest("Hello worl", budget_ms=2000))
    assert not nxt.model_called and nxt.text and "d is round.".startswith(nxt.text) and fake(ac).calls == 1


def test_typing_ahead_that_diverges_restarts_the_model(make_fake: Make) -> None:
    ac = make_fake(reply="world is round.", token_delay=0.03, word_completion=False)
    ac.complete(CompleteRequest("Hello ", budget_ms=1))
    p = ac._sessions[("cli", "default")].current
    assert p is not None
    with p.cond:
        p.cond.wait_for(lambda: len(p.text) >= 3, timeout=5)
    r = ac.complete(CompleteRequest("Hello wx", budget_ms=2000))  # "w" agrees, "x" does not
    assert r.model_called and fake(ac).calls == 2 and not r.cancelled and p.stale


def test_word_being_typed_is_completed_from_the_document_without_the_model(make_fake: Make) -> None:
    ac = make_fake(reply="never used.")
    r = ac.complete(CompleteRequest("The quarterly numbers are in. About the quar"))
    assert r.text == "terly" and r.suggestions[0].source == "word" and not r.model_called
    assert fake(ac).calls == 0


def test_the_same_position_asked_again_waits_for_the_running_generation(make_fake: Make) -> None:
    ac = make_fake(reply="world is round.", token_delay=0.02, word_completion=False)
    first = ac.complete(CompleteRequest("Hello ", budget_ms=1))
    again = ac.complete(CompleteRequest("Hello ", budget_ms=3000))
    assert (
        first.partial and not again.model_called and again.text == "world is round." and fake(ac).calls == 1
    )
