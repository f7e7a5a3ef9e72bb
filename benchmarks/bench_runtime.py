"""Raw llama-cpp-python against our engine, same model, same threads, same prompts, one run.

Measures prompt tokens/s (cold cache), time to first token, and generation tokens/s, and prints
ours/raw ratios from medians. Usage: .venv/bin/python benchmarks/bench_runtime.py [--model ID] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import median, write  # noqa: E402

PROMPT_LONG = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
               "combined movable metal type, oil-based inks and a wooden press. ") * 6
PROMPT_GEN = "Write a short story about a lighthouse keeper who finds a message in a bottle. Once upon a time,"


def bench_raw(path: str, threads: int, n_ctx: int, runs: int, max_tokens: int) -> dict[str, float]:
    from llama_cpp import Llama

    llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
    pp, ttft, gen = [], [], []
    for _ in range(runs):
        llm.reset()
        n_prompt = len(llm.tokenize(PROMPT_LONG.encode()))
        t0 = time.perf_counter()
        llm.create_completion(PROMPT_LONG, max_tokens=1, temperature=0)
        pp.append(n_prompt / (time.perf_counter() - t0))
        llm.reset()
        t0 = time.perf_counter()
        first, n = None, 0
        for _chunk in llm.create_completion(PROMPT_GEN, max_tokens=max_tokens, temperature=0, stream=True):
            n += 1
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        assert first is not None
        ttft.append(first - t0)
        gen.append((n - 1) / (end - first))
    llm.close()
    return {"prompt_tps": median(pp), "ttft_s": median(ttft), "gen_tps": median(gen)}


def bench_ours(model_id: str, threads: int, n_ctx: int, runs: int, max_tokens: int) -> dict[str, float]:
    from assistant.config import Config
    from runtime.engines.base import GenerationOptions
    from runtime.engines.llama_cpp import LlamaLoadOptions  # noqa: F401  (documents the load path used)
    from runtime.engines.textgen import collect
    from runtime.runtime import Runtime

    rt = Runtime(Config.from_env().with_(threads=threads))
    rt.load_overrides[model_id] = {"n_ctx": n_ctx}
    pp, ttft, gen = [], [], []
    for _ in range(runs):
        with rt.scheduler.use(model_id) as eng:
            eng.llm.reset()
        out = collect(rt.complete(PROMPT_LONG, GenerationOptions(max_tokens=1), model=model_id))
        pp.append(out.stats.prompt_tokens / out.stats.prompt_seconds)
        with rt.scheduler.use(model_id) as eng:
            eng.llm.reset()
        out = collect(rt.complete(PROMPT_GEN, GenerationOptions(max_tokens=max_tokens), model=model_id))
        ttft.append(out.stats.time_to_first_token)
        gen.append(out.stats.tokens_per_second)
    rt.close()
    return {"prompt_tps": median(pp), "ttft_s": median(ttft), "gen_tps": median(gen)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    from assistant.config import Config
    from runtime.store import ModelStore

    path = str(ModelStore(Config.from_env().models_dir).ensure(args.model).path)
    n_ctx = 2048
    # alternate the order so neither side always runs on a warmer machine
    raw1 = bench_raw(path, args.threads, n_ctx, args.runs // 2 + 1, args.max_tokens)
    ours1 = bench_ours(args.model, args.threads, n_ctx, args.runs // 2 + 1, args.max_tokens)
    ours2 = bench_ours(args.model, args.threads, n_ctx, args.runs // 2 + 1, args.max_tokens)
    raw2 = bench_raw(path, args.threads, n_ctx, args.runs // 2 + 1, args.max_tokens)
    raw = {k: median([raw1[k], raw2[k]]) for k in raw1}
    ours = {k: median([ours1[k], ours2[k]]) for k in ours1}
    ratio = {
        "gen_tps": ours["gen_tps"] / raw["gen_tps"],
        "prompt_tps": ours["prompt_tps"] / raw["prompt_tps"],
        "ttft": ours["ttft_s"] / raw["ttft_s"],
    }
    path_out = write("bench_runtime", {"model": args.model, "threads": args.threads, "runs": args.runs,
                                       "max_tokens": args.max_tokens, "raw": raw, "ours": ours, "ratio_ours_over_raw": ratio})
    print(f"model {args.model}, {args.threads} threads, medians:")
    for k, label in (("prompt_tps", "prompt tok/s"), ("gen_tps", "generation tok/s"), ("ttft_s", "time to first token s")):
        print(f"  {label:24s} raw {raw[k]:8.3f}   ours {ours[k]:8.3f}")
    print(f"  ratio ours/raw: generation {ratio['gen_tps']:.3f}, prompt {ratio['prompt_tps']:.3f}, ttft {ratio['ttft']:.3f}")
    print(f"wrote {path_out}")


if __name__ == "__main__":
    main()
