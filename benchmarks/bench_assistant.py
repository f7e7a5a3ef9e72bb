"""How well each installed chat model answers: everyday questions, and grounded questions over a
generated week of multi-app activity (benchmarks/assistant_data.py), with time to first token and
tokens/s, and the model the role planner picks for chat and grounded chat marked.

    python -m benchmarks.bench_assistant                      # every installed chat model
    python -m benchmarks.bench_assistant --models qwen2.5-coder-0.5b --plain 10

Writes benchmarks/results/assistant.json. The memory is a real encrypted SQLite file; its embedder
is the deterministic FakeEmbedder, so retrieval is the keyword path plus the question cues.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.assistant_data import PLAIN, push_week, week
from benchmarks.common import machine, median, pct, pinned_now, write


def _chat_models(rt: Any) -> list[str]:
    return [m.id for m in rt.store.list() if m.format == "gguf" and "chat" in m.roles]


def run(models: list[str] | None, n_plain: int, n_events: int, max_tokens: int) -> dict[str, Any]:
    from runtime.calibrate import current_calibrations, role_plan
    from runtime.config import Config
    from runtime.engines.base import ChatMessage, GenerationOptions
    from runtime.runtime import Runtime
    from skills.chat import ChatOptions, ChatSkill, is_bare
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import FakeEmbedder
    from skills.memory.model import Caller

    rt = Runtime(Config.from_env())
    plan = role_plan(rt)
    folder = Path(tempfile.mkdtemp(prefix="bench-assistant-"))
    now = pinned_now()  # the week and the time words in questions mean the same at any hour
    memory = MemorySkill(
        MemoryOptions(StoreOptions(folder / "m.db", key_source="file"), clock=lambda: now),
        embedder=FakeEmbedder(),
    )
    w = week(n_events, now=now)
    ids = push_week(memory, w)
    memory.wait_embedded(300)  # ask what a user's memory would answer once embedding has caught up
    gen = GenerationOptions(max_tokens=max_tokens, temperature=0.0, truncation="truncate_start")
    out: dict[str, Any] = {
        "machine": machine(),
        "events": len(w.events),
        "plain_questions": n_plain,
        "grounded_questions": len(w.questions),
        "planner": {role: c.to_dict() for role, c in plan.items()},
        "calibrations": [c.to_dict() for c in current_calibrations(rt)],
        "models": {},
    }
    for model in models or _chat_models(rt):
        rt.store.ensure(model)
        with rt.scheduler.use(model):
            pass  # loading is not answering
        plain, grounded = ChatSkill(rt, None), ChatSkill(rt, memory, clock=lambda: now)
        opts = ChatOptions(model=model, generation=gen)
        rows: dict[str, list[dict[str, Any]]] = {"plain": [], "grounded": []}
        for q in PLAIN[:n_plain]:
            a = plain.answer([ChatMessage("user", q.text)], None, opts)
            rows["plain"].append(_row(q.text, a, q.correct(a.text)))
            print(
                f"{model} plain {'✓' if q.correct(a.text) else '✗'} {q.text} -> {a.text[:80]!r}", flush=True
            )
        for q in w.questions:
            a = grounded.answer([ChatMessage("user", q.text)], Caller.user(), opts)
            ok = q.correct(a.text) and not is_bare(a.text)
            row = _row(q.text, a, ok)
            row["cited_right"] = ids[q.key] in [c.id for c in a.citations]
            row["repaired"] = a.repaired
            rows["grounded"].append(row)
            print(f"{model} grounded {'✓' if ok else '✗'} {q.text} -> {a.text[:80]!r}", flush=True)
        out["models"][model] = _summary(rows) | {
            "chosen_for": [r for r, c in plan.items() if c.model_id == model and r in ("chat", "grounded")],
            "answers": rows,
        }
        rt.scheduler.unload(model)
    memory.close()
    rt.close()
    return out


def _row(question: str, answer: Any, ok: bool) -> dict[str, Any]:
    s = answer.stats
    return {
        "question": question,
        "answer": answer.text,
        "correct": ok,
        "ttft": s.time_to_first_token if s else None,
        "tokens_per_second": s.tokens_per_second if s else None,
        "prompt_tokens": s.prompt_tokens if s else None,
        "cached_tokens": s.cached_tokens if s else None,
    }


def _summary(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, rs in rows.items():
        ttft = [r["ttft"] for r in rs if r["ttft"] is not None]
        tps = [r["tokens_per_second"] for r in rs if r["tokens_per_second"]]
        out[kind] = {
            "accuracy": sum(r["correct"] for r in rs) / len(rs) if rs else None,
            "correct": sum(r["correct"] for r in rs),
            "n": len(rs),
            "ttft_p50": median(ttft) if ttft else None,
            "ttft_p90": pct(ttft, 90) if ttft else None,
            "tokens_per_second_p50": median(tps) if tps else None,
            "prompt_tokens_p50": median([r["prompt_tokens"] for r in rs if r["prompt_tokens"]])
            if rs
            else None,
        }
        if kind == "grounded":
            out[kind]["cited_right"] = sum(r.get("cited_right", False) for r in rs)
            out[kind]["repaired"] = sum(bool(r.get("repaired")) for r in rs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--models", nargs="*", default=None, help="model ids (default: every installed chat model)"
    )
    ap.add_argument("--plain", type=int, default=len(PLAIN), help="how many everyday questions")
    ap.add_argument("--events", type=int, default=1500, help="events in the generated week")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--out", default="assistant", help="results file name (no extension)")
    args = ap.parse_args()
    t0 = time.time()
    data = run(args.models, args.plain, args.events, args.max_tokens)
    data["seconds"] = round(time.time() - t0, 1)
    print(write(args.out, data))


if __name__ == "__main__":
    main()
