"""Per-session KV snapshots, so several sessions can share one loaded model.

The llama engine reuses its KV cache only for the prefix a prompt shares with the last prompt
evaluated on that model. When two documents take turns, each would re-evaluate its whole window.
A snapshot keeps one session's KV cells (sequence 0) plus the token ids they hold; restoring it
before that session's next request brings the reuse back.

Measured on SmolLM2-135M with 400 tokens: a snapshot is 9.3 MB and takes ~3 ms, a restore ~14 ms,
against ~3 s to re-evaluate the tokens. `Llama.save_state()` is not used: it also copies the
n_batch x n_vocab logits array (~100 MB for this vocabulary), which takes 150-300 ms.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Protocol, Sequence


@dataclass(frozen=True)
class Snapshot:
    """One session's cached tokens and (for llama) the serialized KV cells holding them."""

    tokens: tuple[int, ...]
    data: Any = None
    size: int = 0


class KVStore(Protocol):
    """What the skill needs from an engine to switch sessions: live tokens, snapshot, restore."""

    def live_tokens(self, engine: Any) -> Sequence[int]: ...

    def snapshot(self, engine: Any) -> Snapshot | None: ...

    def restore(self, engine: Any, snap: Snapshot) -> bool: ...


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Return how many leading items a and b share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class LlamaKV:
    """KVStore for runtime.engines.llama_cpp.LlamaEngine (reaches into its llama_cpp.Llama)."""

    def live_tokens(self, engine: Any) -> Sequence[int]:
        llm = engine.llm
        return [int(t) for t in llm.input_ids[: int(llm.n_tokens)]]

    def snapshot(self, engine: Any) -> Snapshot | None:
        import llama_cpp

        llm = engine.llm
        n = int(llm.n_tokens)
        if n == 0:
            return None
        ctx = llm._ctx.ctx
        size = int(llama_cpp.llama_state_seq_get_size(ctx, 0))
        buf = (ctypes.c_uint8 * size)()
        got = int(llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0))
        if got == 0:
            return None
        return Snapshot(tuple(int(t) for t in llm.input_ids[:n]), buf, got)

    def restore(self, engine: Any, snap: Snapshot) -> bool:
        import llama_cpp

        llm = engine.llm
        ctx = llm._ctx.ctx
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        if int(llama_cpp.llama_state_seq_set_data(ctx, snap.data, snap.size, 0)) != snap.size:
            # a failed restore leaves an empty cache: correct, only slower
            llm.n_tokens = 0
            return False
        n = len(snap.tokens)
        llm.input_ids[:n] = snap.tokens
        llm.n_tokens = n
        # the logits belong to whatever ran last; force a decode before sampling
        llm._requires_eval = True
        return True


class FakeKV:
    """KVStore for runtime.engines.fake.FakeTextEngine, whose cache is a token list."""

    def live_tokens(self, engine: Any) -> Sequence[int]:
        return list(engine._kv)

    def snapshot(self, engine: Any) -> Snapshot | None:
        return Snapshot(tuple(engine._kv)) if engine._kv else None

    def restore(self, engine: Any, snap: Snapshot) -> bool:
        engine._kv = list(snap.tokens)
        return True


class NoKV:
    """For engines we cannot inspect: no switching help (the engine's own reuse still applies)."""

    def live_tokens(self, engine: Any) -> Sequence[int]:
        return ()

    def snapshot(self, engine: Any) -> Snapshot | None:
        return None

    def restore(self, engine: Any, snap: Snapshot) -> bool:
        return False


def kv_for(engine: Any) -> KVStore:
    """Return the KVStore that fits engine."""
    if getattr(engine, "llm", None) is not None and hasattr(engine.llm, "input_ids"):
        return LlamaKV()
    if isinstance(getattr(engine, "_kv", None), list):
        return FakeKV()
    return NoKV()
