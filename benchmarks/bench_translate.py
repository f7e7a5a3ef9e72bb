"""Translation latency per sentence and words/min for each engine (Bergamot, tiny CTranslate2, LLM).

.venv/bin/python -m benchmarks.bench_translate [--sentences 40] [--llm 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from runtime.config import Config
from benchmarks.common import median, pct, write

SENTENCES = [
    "I went for a walk in the park this morning.",
    "The meeting was moved to next Tuesday at ten.",
    "Could you send me the report before lunch?",
    "The weather is lovely today.",
    "We need to buy milk, bread and some fruit.",
    "My brother lives in a small town near the coast.",
    "This phone has a very good camera.",
    "Please close the window when you leave.",
]


def bench(engine, direction: str, sents: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    engine.translate_batch([sents[0]], direction)  # load and warm up
    times = []
    for s in sents:
        t0 = time.perf_counter()
        engine.translate_batch([s], direction)
        times.append(time.perf_counter() - t0)
    words = sum(len(s.split()) for s in sents)
    t0 = time.perf_counter()
    engine.translate_batch(sents, direction)
    batch = time.perf_counter() - t0
    return {
        "ms_per_sentence_p50": median(times) * 1000,
        "ms_per_sentence_p95": pct(times, 95) * 1000,
        "words_per_min": words / sum(times) * 60,
        "batched_words_per_min": words / batch * 60,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=40)
    ap.add_argument("--llm", type=int, default=4, help="sentences for the (slow) LLM fallback; 0 skips it")
    args = ap.parse_args()
    sents = (SENTENCES * (args.sentences // len(SENTENCES) + 1))[: args.sentences]
    from runtime.planner import PlanOptions, plan_all
    from runtime.probe import probe
    from runtime.runtime import Runtime
    from runtime.store import ModelStore
    from skills.translate import engines_from_store
    from skills.translate.llm import LLMTranslator

    cfg = Config.from_env()
    store = ModelStore(cfg.models_dir)
    plans = plan_all(probe(), PlanOptions(threads=cfg.threads))
    results: dict[str, dict[str, float]] = {}
    for e in engines_from_store(store, plans):
        results[e.name] = bench(e, e.directions[0], sents)
    with tempfile.TemporaryDirectory() as tmp:  # a tiny CTranslate2 model: measures the path, not quality
        from tests.skills.translate.helpers import build_tiny_model, pack_argos

        folder = build_tiny_model(Path(tmp) / "m", 0)
        tiny = ModelStore(Path(tmp) / "store", catalog={})
        tiny.add(pack_argos(folder, Path(tmp) / "en_de.argosmodel", "en", "de"), model_id="tiny-en-de")
        for e in engines_from_store(tiny, plans):
            if e.name.startswith("ct2"):
                results[e.name + " (tiny d=16)"] = bench(e, "en-de", sents)
    if args.llm:
        rt = Runtime(cfg, store=store)
        results["llm:" + rt.model_for("chat")] = bench(LLMTranslator(rt), "en-pt", sents[: args.llm])
        rt.close()
    for name, r in results.items():
        print(
            f"{name:32s} p50 {r['ms_per_sentence_p50']:7.1f} ms/sentence  p95 {r['ms_per_sentence_p95']:7.1f}  "
            f"{r['words_per_min']:9.0f} words/min  (batched {r['batched_words_per_min']:.0f})"
        )
    if "bergamot" in results and len(results) > 1:
        base = results["bergamot"]["ms_per_sentence_p50"]
        for name, r in results.items():
            print(f"  {name}: {r['ms_per_sentence_p50'] / base:.1f}x Bergamot's latency")
    print("wrote", write("translate", {"sentences": len(sents), "engines": results}))


if __name__ == "__main__":
    main()
