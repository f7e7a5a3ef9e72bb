"""GGUF models through llama-cpp-python: chat, completion, streaming, grammars, FIM, LoRA.

The generation loop drives `Llama.generate` directly, so we see every token: stop strings are
held back, cancellation takes effect at the next token step, and the KV cache is reused for
whatever prefix a new prompt shares with the last one (what autocomplete relies on).
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from runtime.errors import AdapterError, LoadError, ModelError
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
from runtime.loading import load_with_fallback
from runtime.planner import DevicePlan, EnginePlan

log = logging.getLogger(__name__)
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class LlamaLoadOptions:
    """How to load a GGUF model.

    n_ctx: context length in tokens (capped at the model's trained context).
    n_batch: prompt tokens evaluated per batch.
    lora_path: a LoRA adapter in GGUF format, applied at load.
    prompt_lookup: enable prompt-lookup speculative decoding (helps when output copies input,
        as in code edits and summaries), predicting up to this many tokens per step; 0 = off.
        Greedy text matches plain decoding except at near ties: drafts are verified in a batch,
        which llama.cpp rounds differently from one-token steps.
    """

    n_ctx: int = 4096
    n_batch: int = 512
    lora_path: str | None = None
    prompt_lookup: int = 0


def check_adapter(path: str) -> None:
    """Raise AdapterError unless path is a readable GGUF LoRA file."""
    p = Path(path)
    if not p.is_file():
        raise AdapterError(
            f"LoRA adapter {path} does not exist", "check the path, or load without an adapter"
        )
    with p.open("rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise AdapterError(
            f"LoRA adapter {path} is not a GGUF file (starts with {magic!r})",
            "convert it with llama.cpp's convert_lora_to_gguf.py",
        )


class LlamaEngine:
    """A loaded GGUF model; implements runtime.engines.base.TextEngine."""

    def __init__(self, model_id: str, llm: Any, report: LoadReport, fim: bool) -> None:
        self.model_id = model_id
        self.llm = llm
        self.report = report
        self._fim = fim
        self._formatter: Any = None
        self._eog = self._make_eog()

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        model_id: str,
        path: Path,
        plan: EnginePlan,
        options: LlamaLoadOptions = LlamaLoadOptions(),
        fim: bool | None = None,
    ) -> "LlamaEngine":
        """Load path on the best device in plan, falling back down the candidates."""
        if options.lora_path:
            check_adapter(options.lora_path)
        from llama_cpp import Llama

        def attempt(cand: DevicePlan) -> Any:
            if cand.device != "cpu" and cand.n_gpu_layers != 0 and not _gpu_offload():
                # llama.cpp would silently run on the CPU; fail so the report tells the truth
                raise LoadError(
                    f"this llama.cpp build has no GPU offload, so {cand.device} is unavailable",
                    "rebuild llama-cpp-python with e.g. CMAKE_ARGS=-DGGML_CUDA=on (see README)",
                )
            kwargs: dict[str, Any] = dict(
                model_path=str(path),
                n_ctx=options.n_ctx,
                n_batch=options.n_batch,
                n_threads=cand.threads,
                n_threads_batch=cand.threads,
                n_gpu_layers=cand.n_gpu_layers,
                lora_path=options.lora_path,
                verbose=False,
            )
            if options.prompt_lookup:
                from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

                kwargs["draft_model"] = LlamaPromptLookupDecoding(num_pred_tokens=options.prompt_lookup)
            try:
                return Llama(**kwargs)
            except ValueError as exc:
                if options.lora_path and "LoRA" in str(exc):
                    raise AdapterError(
                        f"LoRA adapter {options.lora_path} could not be applied: {exc}",
                        "use an adapter trained for this base model",
                    ) from None
                raise

        def memory(llm: Any) -> int:
            return _estimate_memory(llm, path)

        try:
            llm, report = load_with_fallback(model_id, plan, attempt, memory)
        except Exception as exc:
            cause = exc.__context__
            if isinstance(cause, AdapterError):
                raise cause from None
            raise
        if fim is None:
            fim = _has_fim_tokens(llm)
        return cls(model_id, llm, report, fim)

    # -- TextEngine -----------------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return int(self.llm.n_ctx())

    @property
    def supports_fim(self) -> bool:
        return self._fim

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=special))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def chat_prompt(self, messages: Sequence[ChatMessage]) -> tuple[str, tuple[str, ...]]:
        if self._formatter is None:
            self._formatter = self._make_formatter()
        try:
            resp = self._formatter(messages=[{"role": m.role, "content": m.content} for m in messages])
        except Exception as exc:  # jinja2: the model's template cannot render these turns (e.g. none)
            raise ModelError(
                f"{self.model_id}'s chat template cannot render these messages ({type(exc).__name__}: {exc})",
                "send at least one user message with text content",
                field="messages",
            ) from None
        return resp.prompt, tuple(s for s in (resp.stop or []) if s)

    def fim_prompt(self, prefix: str, suffix: str) -> str:
        return f"<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"

    def complete(
        self, prompt: str, options: GenerationOptions = GenerationOptions(), cancel: CancelToken | None = None
    ) -> Completion:
        return collect(self.stream(prompt, options, cancel))

    def stream(
        self, prompt: str, options: GenerationOptions = GenerationOptions(), cancel: CancelToken | None = None
    ) -> TokenStream:
        """Yield decoded text as it is generated; return GenerationStats."""
        llm = self.llm
        t0 = time.perf_counter()
        tokens = list(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        if not tokens:
            # "" tokenizes to nothing on models that add no BOS (SmolLM2), and llama.cpp cannot
            # evaluate zero tokens: start from the model's BOS (else EOS) token, as an empty document.
            tokens = [llm.token_bos() if llm.token_bos() >= 0 else llm.token_eos()]
        tokens, max_tokens, dropped = fit_context(
            tokens, options.max_tokens, self.n_ctx, options.truncation, self.model_id
        )
        cached = self._reusable_prefix(tokens)
        grammar = self._grammar(options)
        if options.seed is not None:
            llm.set_seed(options.seed)
        scanner = StopScanner(options.stop)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        n, ttft, finish = 0, 0.0, "length"
        gen = llm.generate(
            tokens,
            top_k=options.top_k,
            top_p=options.top_p,
            min_p=0.05,
            temp=options.temperature,
            repeat_penalty=options.repeat_penalty,
            grammar=grammar,
        )
        try:
            for token in gen:
                if n == 0:
                    ttft = time.perf_counter() - t0
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
                if token in self._eog:
                    finish = "stop"
                    break
                n += 1
                piece = decoder.decode(llm.detokenize([token]))
                out = scanner.feed(piece) if piece else ""
                if out:
                    yield TokenEvent(out, n)
                if scanner.stopped:
                    finish = "stop"
                    break
                if n >= max_tokens:
                    break
                if cancel is not None and cancel.cancelled:
                    finish = "cancelled"
                    break
        finally:
            gen.close()
        rest = scanner.flush() + ("" if scanner.stopped else decoder.decode(b"", final=True))
        if rest and finish != "cancelled":
            yield TokenEvent(rest, n)
        if n == 0 and ttft == 0.0:
            ttft = time.perf_counter() - t0
        return GenerationStats(
            prompt_tokens=len(tokens),
            cached_tokens=cached,
            evaluated_prompt_tokens=len(tokens) - cached,
            completion_tokens=n,
            truncated_tokens=dropped,
            prompt_seconds=ttft,
            time_to_first_token=ttft,
            generation_seconds=time.perf_counter() - t0,
            finish_reason=finish,
        )

    def close(self) -> None:
        llm, self.llm = self.llm, None
        if llm is not None:
            llm.close()

    # -- helpers ----------------------------------------------------------------------------
    def _reusable_prefix(self, tokens: list[int]) -> int:
        """Tokens of `tokens` whose KV state llama.generate will keep (mirrors its rule)."""
        n_past = int(self.llm.n_tokens)
        if n_past == 0:
            return 0
        past = self.llm.input_ids[:n_past]
        common = 0
        for a, b in zip(past, tokens):
            if a != b:
                break
            common += 1
        # a fully cached prompt still replays its last token to refresh the logits
        return common - 1 if common == len(tokens) else common

    def _grammar(self, options: GenerationOptions) -> Any:
        if options.grammar is None and options.json_schema is None:
            return None
        from llama_cpp.llama_grammar import LlamaGrammar

        if options.grammar is not None:
            return LlamaGrammar.from_string(options.grammar, verbose=False)
        return LlamaGrammar.from_json_schema(json.dumps(options.json_schema), verbose=False)

    def _make_eog(self) -> frozenset[int]:
        import llama_cpp

        vocab = self.llm._model.vocab
        n_vocab = self.llm.n_vocab()
        # scanning the vocabulary once is cheap (~0.1 s for 150k tokens) and makes the per-token check a set lookup
        return frozenset(t for t in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t))

    def _make_formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            # ChatML is the most common convention among small instruct models
            template = (
                "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
            )
        model = self.llm._model
        eos_id, bos_id = self.llm.token_eos(), self.llm.token_bos()
        eos = model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = model.token_get_text(bos_id) if bos_id != -1 else ""
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, stop_token_ids=[eos_id])


def _gpu_offload() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def _has_fim_tokens(llm: Any) -> bool:
    try:
        toks = llm.tokenize(b"<|fim_prefix|>", add_bos=False, special=True)
    except Exception:
        return False
    return len(toks) == 1


def _estimate_memory(llm: Any, path: Path) -> int:
    """Weights (mmapped file) plus the f16 KV cache for the loaded context."""
    md = llm.metadata
    arch = md.get("general.architecture", "llama")
    try:
        layers = int(md[f"{arch}.block_count"])
        embd = int(md[f"{arch}.embedding_length"])
        heads = int(md[f"{arch}.attention.head_count"])
        kv_heads = int(md.get(f"{arch}.attention.head_count_kv", heads))
        kv = 2 * layers * int(llm.n_ctx()) * (embd * kv_heads // heads) * 2
    except (KeyError, ValueError, ZeroDivisionError):
        kv = 0
    return os.path.getsize(path) + kv


def schema_gbnf(schema: Mapping[str, Any], rule: str = "root") -> str:
    """Return llama.cpp's GBNF for a JSON schema, its top rule named `rule` (to embed in a larger
    grammar). Raises ValueError/AssertionError for what the converter cannot express."""
    from llama_cpp.llama_grammar import SchemaConverter

    converter = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    resolved = converter.resolve_refs(json.loads(json.dumps(schema)), "input")
    converter.visit(resolved, rule)
    return str(converter.format_grammar())
