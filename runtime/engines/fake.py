"""A small deterministic text engine for logic tests and demos. It loads no weights.

Tokens are characters (the vocabulary is Unicode code points). Given a prompt it "generates"
the reply text it was built with, or echoes the prompt's last line reversed. It keeps a KV
prefix like the real engine, so cache-reuse logic can be tested against it.
"""

from __future__ import annotations

import time
from typing import Sequence

from runtime.engines.base import (
    CancelToken,
    ChatMessage,
    Completion,
    GenerationOptions,
    GenerationStats,
    LoadReport,
    TokenEvent,
    TokenStream,
)
from runtime.engines.textgen import StopScanner, collect, fit_context


class FakeTextEngine:
    """Deterministic TextEngine. `reply` is produced for every prompt when given."""

    def __init__(
        self,
        model_id: str = "fake",
        reply: str | None = None,
        n_ctx: int = 2048,
        token_delay: float = 0.0,
        report: LoadReport | None = None,
        memory_bytes: int = 1 << 20,
    ) -> None:
        self.model_id = model_id
        self.reply = reply
        self._n_ctx = n_ctx
        self.token_delay = token_delay
        self.report = report or LoadReport(model_id, "cpu", ("fake engine",), (), 0.0, memory_bytes)
        self._kv: list[int] = []
        self.closed = False
        self.calls = 0

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def supports_fim(self) -> bool:
        return True

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        return [ord(c) for c in text]

    def count_tokens(self, text: str) -> int:
        return len(text)

    def chat_prompt(self, messages: Sequence[ChatMessage]) -> tuple[str, tuple[str, ...]]:
        body = "".join(f"<{m.role}>{m.content}</{m.role}>\n" for m in messages)
        return body + "<assistant>", ("</assistant>",)

    def fim_prompt(self, prefix: str, suffix: str) -> str:
        return f"<pre>{prefix}<suf>{suffix}<mid>"

    def stream(
        self, prompt: str, options: GenerationOptions = GenerationOptions(), cancel: CancelToken | None = None
    ) -> TokenStream:
        self.calls += 1
        t0 = time.perf_counter()
        tokens, max_tokens, dropped = fit_context(
            self.tokenize(prompt), options.max_tokens, self._n_ctx, options.truncation, self.model_id
        )
        cached = 0
        for a, b in zip(self._kv, tokens):
            if a != b:
                break
            cached += 1
        cached = min(cached, len(tokens) - 1)
        self._kv = list(tokens)
        t_prompt = time.perf_counter() - t0
        text = self.reply if self.reply is not None else (prompt.rstrip().splitlines() or [""])[-1][::-1]
        scanner = StopScanner(options.stop)
        n, ttft, finish = 0, 0.0, "length"
        for ch in text:
            if cancel is not None and cancel.cancelled:
                finish = "cancelled"
                break
            if n >= max_tokens:
                break
            if self.token_delay:
                time.sleep(self.token_delay)
            n += 1
            if n == 1:
                ttft = time.perf_counter() - t0
            out = scanner.feed(ch)
            if out:
                yield TokenEvent(out, n)
            if scanner.stopped:
                finish = "stop"
                break
        else:
            finish = "stop" if n < max_tokens else "length"
        rest = scanner.flush()
        if rest:
            yield TokenEvent(rest, n)
        return GenerationStats(
            prompt_tokens=len(tokens),
            cached_tokens=cached,
            evaluated_prompt_tokens=len(tokens) - cached,
            completion_tokens=n,
            truncated_tokens=dropped,
            prompt_seconds=t_prompt,
            time_to_first_token=ttft,
            generation_seconds=time.perf_counter() - t0,
            finish_reason=finish,
        )

    def complete(
        self, prompt: str, options: GenerationOptions = GenerationOptions(), cancel: CancelToken | None = None
    ) -> Completion:
        return collect(self.stream(prompt, options, cancel))

    def close(self) -> None:
        self.closed = True
