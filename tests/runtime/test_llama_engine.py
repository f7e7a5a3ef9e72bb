"""Real llama.cpp inference on both shipped GGUF models, checked with tolerant assertions."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from runtime.errors import AdapterError, ContextOverflow
from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions
from runtime.engines.textgen import collect

pytestmark = pytest.mark.real_model


def test_smollm_completes_prose_sensibly(smollm) -> None:  # type: ignore[no-untyped-def]
    out = smollm.complete(
        "The weekly team meeting has been moved from Monday to",
        GenerationOptions(max_tokens=12, stop=("\n",)),
    )
    words = out.text.lower()
    assert any(
        d in words for d in ("tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "next")
    )
    assert out.stats.completion_tokens <= 12
    assert out.stats.prompt_tokens > 5


def test_qwen_chat_answers_a_fact(real_runtime) -> None:  # type: ignore[no-untyped-def]
    stream = real_runtime.chat(
        [ChatMessage("user", "What is the capital of France? Answer with one word.")],
        GenerationOptions(max_tokens=16),
        model="qwen2.5-coder-0.5b",
    )
    out = collect(stream)
    assert "paris" in out.text.lower()
    assert out.stats.finish_reason == "stop"
    assert "<|im_end|>" not in out.text


def test_qwen_translates(real_runtime) -> None:  # type: ignore[no-untyped-def]
    out = collect(
        real_runtime.chat(
            [ChatMessage("user", "Translate to French: Good morning, how are you?")],
            GenerationOptions(max_tokens=24),
            model="qwen2.5-coder-0.5b",
        )
    )
    assert "bonjour" in out.text.lower()


def test_qwen_fill_in_the_middle(qwen) -> None:  # type: ignore[no-untyped-def]
    assert qwen.supports_fim
    prompt = qwen.fim_prompt("def add(a, b):\n    return ", "\n\nprint(add(2, 3))\n")
    out = qwen.complete(prompt, GenerationOptions(max_tokens=12, stop=("\n",)))
    assert out.text.replace(" ", "").startswith("a+b")


def test_streaming_yields_pieces_and_stop_strings_are_cut(smollm) -> None:  # type: ignore[no-untyped-def]
    pieces = []
    stream = smollm.stream("1, 2, 3, 4, 5,", GenerationOptions(max_tokens=30, stop=("9",)))
    out = collect(iter(_record(stream, pieces)))
    assert len(pieces) >= 3
    assert "9" not in out.text and "8" in out.text
    assert out.stats.finish_reason == "stop"


def _record(stream, pieces):  # type: ignore[no-untyped-def]
    while True:
        try:
            ev = next(stream)
        except StopIteration as s:
            return s.value
        pieces.append(ev.text)
        yield ev


def test_json_schema_constrains_output(qwen) -> None:  # type: ignore[no-untyped-def]
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population_millions": {"type": "number"}},
        "required": ["city", "population_millions"],
    }
    prompt, stops = qwen.chat_prompt(
        [ChatMessage("user", "Give the largest city of Japan and its population as JSON.")]
    )
    out = qwen.complete(prompt, GenerationOptions(max_tokens=60, json_schema=schema, stop=stops))
    data = json.loads(out.text)
    assert set(data) >= {"city", "population_millions"}
    assert "tokyo" in data["city"].lower()


def test_gbnf_grammar_constrains_output(smollm) -> None:  # type: ignore[no-untyped-def]
    out = smollm.complete(
        "Is the sky blue? Answer:", GenerationOptions(max_tokens=5, grammar='root ::= " yes" | " no"')
    )
    assert out.text in (" yes", " no")


def test_token_counting(smollm) -> None:  # type: ignore[no-untyped-def]
    n = smollm.count_tokens("Hello world, this is a test.")
    assert 5 <= n <= 12
    assert smollm.count_tokens("word " * 100) > smollm.count_tokens("word " * 10)


@pytest.fixture(scope="module")
def small_ctx(real_runtime):  # type: ignore[no-untyped-def]
    """SmolLM2 with a 256-token context, so overflow handling is cheap to exercise."""
    from runtime.engines.llama_cpp import LlamaEngine, LlamaLoadOptions

    path = real_runtime.store.ensure("smollm2-135m").path
    eng = LlamaEngine.load("smollm2-135m", path, real_runtime.plans["gguf"], LlamaLoadOptions(n_ctx=256))
    yield eng
    eng.close()


def test_overlong_input_errors_or_truncates_visibly(small_ctx) -> None:  # type: ignore[no-untyped-def]
    long = "lorem ipsum dolor sit amet " * 100
    with pytest.raises(ContextOverflow, match="exceeds the 256-token context"):
        small_ctx.complete(long, GenerationOptions(max_tokens=8))
    out = small_ctx.complete(long, GenerationOptions(max_tokens=8, truncation="truncate_start"))
    assert out.stats.truncated_tokens > 0
    assert out.stats.prompt_tokens + 8 <= 256
    assert out.stats.completion_tokens >= 1


def test_kv_cache_reuse_for_shared_prefix(smollm) -> None:  # type: ignore[no-untyped-def]
    base = "Dear Maria, thank you for your letter about the garden. The roses are"
    cold = smollm.complete("Unrelated warm-up text.", GenerationOptions(max_tokens=1))
    first = smollm.complete(base, GenerationOptions(max_tokens=4))
    second = smollm.complete(base + " blooming", GenerationOptions(max_tokens=4))
    assert cold.stats.cached_tokens <= 1
    assert second.stats.cached_tokens >= first.stats.prompt_tokens - 2
    assert second.stats.evaluated_prompt_tokens <= 4
    # an edit in the middle invalidates the cache from that point on
    edited = smollm.complete(base.replace("garden", "kitchen") + " blooming", GenerationOptions(max_tokens=4))
    assert edited.stats.cached_tokens < second.stats.prompt_tokens - 5


def test_cancellation_mid_stream(smollm) -> None:  # type: ignore[no-untyped-def]
    cancel = CancelToken()
    stream = smollm.stream(
        "Once upon a time, in a land far away, there lived a dragon named",
        GenerationOptions(max_tokens=200),
        cancel,
    )
    got = 0
    while True:
        try:
            next(stream)
        except StopIteration as s:
            stats = s.value
            break
        got += 1
        if got == 3:
            cancel.cancel()
    assert got == 3
    assert stats.finish_reason == "cancelled"
    assert stats.completion_tokens <= 4


def test_cancel_from_another_thread(smollm) -> None:  # type: ignore[no-untyped-def]
    cancel = CancelToken()
    threading.Timer(0.15, cancel.cancel).start()
    t0 = time.perf_counter()
    out = smollm.complete(
        "Count slowly: one, two, three,",
        GenerationOptions(max_tokens=2000, truncation="truncate_start"),
        cancel,
    )
    assert out.stats.finish_reason == "cancelled"
    # the cancel lands within a token step: nowhere near the 2000-token budget (time is not
    # asserted tightly because the machine may be busy)
    assert out.stats.completion_tokens < 400
    assert time.perf_counter() - t0 < 60


def test_missing_lora_adapter_is_an_error(real_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from runtime.engines.llama_cpp import LlamaEngine, LlamaLoadOptions

    path = real_runtime.store.get("smollm2-135m").path
    with pytest.raises(AdapterError, match="does not exist"):
        LlamaEngine.load(
            "smollm2-135m",
            path,
            real_runtime.plans["gguf"],
            LlamaLoadOptions(lora_path=str(tmp_path / "nope.gguf")),
        )
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a lora at all")
    with pytest.raises(AdapterError, match="not a GGUF"):
        LlamaEngine.load(
            "smollm2-135m", path, real_runtime.plans["gguf"], LlamaLoadOptions(lora_path=str(bad))
        )


def test_prompt_lookup_decoding_gives_the_same_greedy_text(real_runtime) -> None:  # type: ignore[no-untyped-def]
    """Prompt lookup only drafts tokens for the model to verify, so its greedy text is plain greedy
    decoding's, on text that copies its prompt and on text that does not. The one allowed
    difference is rounding: verification evaluates drafts in a batch, and llama.cpp's batched sums
    round differently from one-token steps, which can flip a near tie. So where the texts part,
    the two next tokens must be within TIE logits of each other."""
    from llama_cpp import Llama

    from runtime.engines.llama_cpp import LlamaEngine, LlamaLoadOptions

    path = real_runtime.store.ensure("smollm2-135m").path
    prompts = (
        "Repeat exactly: the quick brown fox jumps over the lazy dog. Repeat exactly: the quick brown",
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n",
        "The three largest cities of Portugal are",
    )
    opts = GenerationOptions(max_tokens=32)

    def texts(prompt_lookup: int) -> list[str]:
        # both engines load alike and start cold, so only the decoding differs
        eng = LlamaEngine.load(
            "smollm2-135m",
            path,
            real_runtime.plans["gguf"],
            LlamaLoadOptions(n_ctx=1024, prompt_lookup=prompt_lookup),
        )
        try:
            return [eng.complete(p, opts).text for p in prompts]
        finally:
            eng.close()

    plain, lookup = texts(0), texts(8)
    assert "fox" in plain[0] and all(t.strip() for t in plain)
    parted = [(p, a, b) for p, a, b in zip(prompts, plain, lookup) if a != b]
    if not parted:
        return
    TIE = 0.5  # logits; a drafting or acceptance bug parts the texts by far more
    probe = Llama(model_path=str(path), n_ctx=1024, logits_all=True, verbose=False)
    try:
        for prompt, a, b in parted:
            # back up to the word both texts share, so the next tokens are whole words
            i = next(i for i, (x, y) in enumerate(zip(a + "\0", b + "\1")) if x != y)
            i = max(a.rfind(" ", 0, i + 1), 0)
            head = probe.tokenize((prompt + a[:i]).encode(), add_bos=True, special=True)
            next_a = probe.tokenize(a[i:].encode(), add_bos=False, special=True)[0]
            next_b = probe.tokenize(b[i:].encode(), add_bos=False, special=True)[0]
            probe.reset()
            probe.eval(head)
            logits = probe.scores[probe.n_tokens - 1]
            gap = abs(float(logits[next_a]) - float(logits[next_b]))
            assert gap < TIE, f"{prompt!r}: plain {a[i:]!r} vs lookup {b[i:]!r}, {gap:.2f} logits apart"
    finally:
        probe.close()


def test_load_report_says_where_and_why(smollm) -> None:  # type: ignore[no-untyped-def]
    rep = smollm.report
    assert rep.device == "cpu"
    assert rep.reasons and all(r.strip() for r in rep.reasons)
    assert rep.memory_bytes > 90_000_000


def test_concurrent_requests_on_one_real_model_are_queued(real_runtime, smollm_id) -> None:  # type: ignore[no-untyped-def]
    """Four threads ask the same loaded model at once: each gets its own correct answer, and the
    scheduler shows they waited in the queue instead of sharing the context."""
    answers = {"France": "Paris", "Italy": "Rome", "Japan": "Tokyo", "Germany": "Berlin"}
    prompts = {c: f"The capital of {c} is the city of" for c in answers}
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def ask(i: str) -> None:
        try:
            out = collect(
                real_runtime.complete(prompts[i], GenerationOptions(max_tokens=3), model="smollm2-135m")
            )
            results[i] = out.text
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    before = real_runtime.scheduler.metrics["smollm2-135m"].queue_wait_seconds
    loads = real_runtime.scheduler.metrics["smollm2-135m"].loads
    threads = [threading.Thread(target=ask, args=(i,)) for i in prompts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(answers[c] in results[c] for c in prompts), results
    assert real_runtime.scheduler.metrics["smollm2-135m"].queue_wait_seconds > before
    # one model for the four (loaded at most once here: the keep-alive reaper may have unloaded it)
    assert real_runtime.scheduler.metrics["smollm2-135m"].loads - loads <= 1
