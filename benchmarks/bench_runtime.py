"""Raw llama-cpp-python against our engine, same model, same threads, same prompts, one run.

Measures prompt tokens/s (cold cache), time to first token, and generation tokens/s, and prints
ours/raw ratios from medians. Usage: .venv/bin/python -m benchmarks.bench_runtime [--model ID] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.common import median, write


PROMPT_LONG = (
    "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
    "combined movable metal type, oil-based inks and a wooden press. "
) * 6
PROMPT_GEN = (
    "Write a short story about a lighthouse keeper who finds a message in a bottle. Once upon a time,"
)


class Raw:
    """Plain llama-cpp-python: the baseline."""

    def __init__(self, path: str, threads: int, n_ctx: int) -> None:
        from llama_cpp import Llama

        self.llm = Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            verbose=False,
        )

    def prompt_tps(self) -> float:
        self.llm.reset()
        n_prompt = len(self.llm.tokenize(PROMPT_LONG.encode()))
        t0 = time.perf_counter()
        self.llm.create_completion(PROMPT_LONG, max_tokens=1, temperature=0)
        return n_prompt / (time.perf_counter() - t0)

    def generate(self, max_tokens: int) -> tuple[float, float]:
        self.llm.reset()
        t0 = time.perf_counter()
        first, n = None, 0
        for _chunk in self.llm.create_completion(
            PROMPT_GEN, max_tokens=max_tokens, temperature=0, stream=True
        ):
            n += 1
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        assert first is not None
        return first - t0, (n - 1) / (end - first)


class Ours:
    """Our runtime: the scheduler and the llama engine, as the CLI, daemon and TUI use them."""

    def __init__(self, model_id: str, threads: int, n_ctx: int) -> None:
        from runtime.config import Config
        from runtime.runtime import Runtime

        self.model_id = model_id
        self.rt = Runtime(Config.from_env().with_(threads=threads))
        self.rt.load_overrides[model_id] = {"n_ctx": n_ctx}

    def _reset(self) -> None:
        with self.rt.scheduler.use(self.model_id) as eng:
            eng.llm.reset()  # cold cache, as for the baseline

    def prompt_tps(self) -> float:
        from runtime.engines.base import GenerationOptions
        from runtime.engines.textgen import collect

        self._reset()
        out = collect(self.rt.complete(PROMPT_LONG, GenerationOptions(max_tokens=1), model=self.model_id))
        return out.stats.prompt_tokens / out.stats.prompt_seconds

    def generate(self, max_tokens: int) -> tuple[float, float]:
        from runtime.engines.base import GenerationOptions
        from runtime.engines.textgen import collect

        self._reset()
        out = collect(
            self.rt.complete(PROMPT_GEN, GenerationOptions(max_tokens=max_tokens), model=self.model_id)
        )
        return out.stats.time_to_first_token, out.stats.tokens_per_second


def measure(runner: Raw | Ours, max_tokens: int) -> dict[str, float]:
    pp = runner.prompt_tps()
    ttft, tps = runner.generate(max_tokens)
    return {"prompt_tps": pp, "ttft_s": ttft, "gen_tps": tps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    from runtime.config import Config
    from runtime.store import ModelStore

    path = str(ModelStore(Config.from_env().models_dir).ensure(args.model).path)
    n_ctx = 2048
    raw, ours = Raw(path, args.threads, n_ctx), Ours(args.model, args.threads, n_ctx)
    measure(raw, 16), measure(ours, 16)  # warm-up
    samples: dict[str, list[dict[str, float]]] = {"raw": [], "ours": []}
    # interleaved, alternating who goes first, so load drift on a shared machine hits both alike
    for i in range(args.runs):
        order = [("raw", raw), ("ours", ours)] if i % 2 == 0 else [("ours", ours), ("raw", raw)]
        for name, runner in order:
            samples[name].append(measure(runner, args.max_tokens))
    med = {name: {k: median([s[k] for s in runs]) for k in runs[0]} for name, runs in samples.items()}
    raw_m, ours_m = med["raw"], med["ours"]
    # per-run ratios, then their median: robust to the machine speeding up or slowing down between runs
    ratio = {
        "gen_tps": median([o["gen_tps"] / r["gen_tps"] for o, r in zip(samples["ours"], samples["raw"])]),
        "prompt_tps": median(
            [o["prompt_tps"] / r["prompt_tps"] for o, r in zip(samples["ours"], samples["raw"])]
        ),
        "ttft": median([o["ttft_s"] / r["ttft_s"] for o, r in zip(samples["ours"], samples["raw"])]),
    }
    path_out = write(
        "bench_runtime",
        {
            "model": args.model,
            "threads": args.threads,
            "runs": args.runs,
            "max_tokens": args.max_tokens,
            "raw": raw_m,
            "ours": ours_m,
            "ratio_ours_over_raw": ratio,
            "samples": samples,
        },
    )
    print(f"model {args.model}, {args.threads} threads, medians of {args.runs} interleaved runs:")
    for k, label in (
        ("prompt_tps", "prompt tok/s"),
        ("gen_tps", "generation tok/s"),
        ("ttft_s", "time to first token s"),
    ):
        print(f"  {label:24s} raw {raw_m[k]:8.3f}   ours {ours_m[k]:8.3f}")
    print(
        f"  ratio ours/raw: generation {ratio['gen_tps']:.3f}, prompt {ratio['prompt_tps']:.3f}, ttft {ratio['ttft']:.3f}"
    )
    print(f"wrote {path_out}")


if __name__ == "__main__":
    main()
