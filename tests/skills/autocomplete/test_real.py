"""Real suggestions from the shipped models: SmolLM2 for prose, Qwen2.5-Coder FIM for code."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from skills.autocomplete import Autocomplete, CompleteRequest

pytestmark = pytest.mark.real_model
SMOL = "smollm2-135m"

LETTER = (
    "Hi Sam,\n\nThanks for the update on the budget. The meeting has been moved to next Tuesday "
    "at 10am, so please bring the printed copies of the report. "
)


def test_prose_suggestion_from_smollm(real_ac: Autocomplete) -> None:
    r = real_ac.complete(CompleteRequest(LETTER + "Let me know if you have any"))
    assert r.model_called and r.model_id == "smollm2-135m" and not r.partial
    assert r.text.strip() and "\n" not in r.text
    assert r.text.lstrip().split()[0].strip(".,?!") in {
        "questions",
        "question",
        "other",
        "concerns",
        "comments",
    }


def kv_and_tokens(runtime: Any, text: str) -> tuple[list[int], list[int]]:
    """SmolLM2's live KV tokens and text's tokens, read under a lease of its own (the skill takes
    the next one)."""
    from skills.autocomplete.kvstate import LlamaKV

    with runtime.scheduler.use(SMOL) as smollm:
        return list(LlamaKV().live_tokens(smollm)), smollm.tokenize(text, special=True)


def test_cache_reuse_evaluates_fewer_tokens_than_cold(real_ac: Autocomplete, real_runtime: Any) -> None:
    with real_runtime.scheduler.use(SMOL) as smollm:
        smollm.llm.reset()  # a cold cache, whatever ran before
    cold = real_ac.complete(CompleteRequest(LETTER + "I", doc="reuse"))
    warm = real_ac.complete(CompleteRequest(LETTER + "I xq", doc="reuse"))  # "xq" diverges from any guess
    assert warm.model_called and cold.evaluated_prompt_tokens == cold.prompt_tokens > 30
    assert warm.cached_tokens >= cold.prompt_tokens - 2 and warm.evaluated_prompt_tokens <= 3


def test_backspace_and_mid_text_edit_reuse_only_what_still_matches(
    real_ac: Autocomplete, real_runtime: Any
) -> None:
    from skills.autocomplete.kvstate import common_prefix

    old = LETTER + "Please reply by Fri"
    real_ac.complete(CompleteRequest(old, doc="edit"))
    shown = real_ac._sessions[("cli", "edit")].current
    back = real_ac.complete(CompleteRequest(LETTER + "Please reply by Fr", doc="edit"))
    assert back.model_called and back.suggestions[0].source == "model"  # never the stale suggestion
    assert shown is not None and shown.stale
    live, new_tokens = kv_and_tokens(real_runtime, LETTER + "Please reply by Fr")
    assert live[: len(new_tokens)] == new_tokens  # the cache now holds exactly the edited text
    edited = LETTER.replace("budget", "garden") + "Please reply by Fr"
    before, edited_tokens = kv_and_tokens(real_runtime, edited)
    mid = real_ac.complete(CompleteRequest(edited, doc="edit"))
    assert mid.cached_tokens == common_prefix(before, edited_tokens) < back.cached_tokens
    assert mid.evaluated_prompt_tokens == len(edited_tokens) - mid.cached_tokens > 20
    live, _ = kv_and_tokens(real_runtime, edited)
    assert live[: len(edited_tokens)] == edited_tokens


def test_switching_sessions_restores_kv_snapshots(real_ac: Autocomplete) -> None:
    other = "Meeting notes: the roadmap review covered hiring, the new office and the launch plan. "
    real_ac.complete(CompleteRequest(LETTER, doc="s1"))
    real_ac.complete(CompleteRequest(other, doc="s2"))
    back = real_ac.complete(CompleteRequest(LETTER + "Zq", doc="s1"))
    assert back.evaluated_prompt_tokens <= 3 and back.cached_tokens > 30


def test_real_generation_is_cancelled_by_a_newer_keystroke(real_ac: Autocomplete) -> None:
    out: dict[str, Any] = {}
    prompt = LETTER * 3  # long enough that evaluating it outlasts the newer keystroke
    t = threading.Thread(target=lambda: out.update(r=real_ac.complete(CompleteRequest(prompt, doc="c"))))
    t.start()
    time.sleep(0.05)
    stale = real_ac._sessions[("cli", "c")].current
    # an edit (not typing ahead, which would follow the running generation) makes it stale
    newer = real_ac.complete(CompleteRequest(prompt[:-2] + "! Also", doc="c"))
    t.join(30)
    assert out["r"].cancelled and not newer.cancelled
    assert stale is not None and stale.done


def test_code_fim_from_qwen(real_ac: Autocomplete, qwen_id: str) -> None:
    prefix = "def area_of_circle(radius):\n    return "
    suffix = "\n\n\nprint(area_of_circle(2.0))\n"
    r = real_ac.complete(CompleteRequest(prefix, suffix=suffix, kind="code", doc="code.py"))
    assert r.model_id == "qwen2.5-coder-0.5b" and r.model_called
    assert r.text.strip() and "\n" not in r.text
    assert any(k in r.text for k in ("radius", "3.14", "pi")), r.text


def test_words_complete_from_the_document_and_the_vocabulary_without_the_model(
    real_ac_words: Autocomplete,
) -> None:
    ac = real_ac_words
    first = ac.complete(
        CompleteRequest(LETTER, doc="w")
    )  # a word boundary: the model, which loads the lexicon
    assert first.model_called
    doc = ac.complete(CompleteRequest(LETTER + "See you on Tu", doc="w"))
    assert doc.text == "esday" and doc.suggestions[0].source == "word" and not doc.model_called
    vocab = ac.complete(CompleteRequest(LETTER + "Any questi", doc="w"))  # not in the letter: the vocabulary
    assert vocab.suggestions[0].source == "word" and not vocab.model_called
    assert ("questi" + vocab.text) in {"question", "questions"}
    through = ac.complete(CompleteRequest(LETTER + "Any questio", doc="w"))
    assert through.suggestions[0].source == "type_through" and not through.model_called
    nxt = ac.complete(CompleteRequest(LETTER + "Any questions ", doc="w"))  # the next word: the model again
    assert nxt.model_called


def test_code_identifiers_complete_from_the_file(real_ac_words: Autocomplete) -> None:
    prefix = "def count_words(lines):\n    total = 0\n    for line in lines:\n        total += len(line.split())\n\n\nx = cou"
    r = real_ac_words.complete(CompleteRequest(prefix, suffix="\nprint(x)\n", kind="code", doc="c.py"))
    assert r.text == "nt_words" and r.suggestions[0].source == "word" and not r.model_called
