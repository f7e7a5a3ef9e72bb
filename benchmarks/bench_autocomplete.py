"""Replay typing one keystroke at a time and time three autocomplete paths in one run.

ours:    the autocomplete skill (through the daemon endpoint when assistant.api registers it,
         else in-process; the JSON says which), with type-through, budget and KV reuse.
server:  llama-cpp-python's own OpenAI server (`python -m llama_cpp.server`), /v1/completions with
         the same model, prompt window and token budget (it keeps its own prefix cache).
naive:   the same prompt re-evaluated from scratch on every keystroke (KV reset), sampled on
         --naive-samples keystrokes because each costs seconds.

Reports p50/p95/p99 per path, ratios, and the share of characters a user would save by accepting
the top suggestion whenever it matches what comes next. Writes benchmarks/results/autocomplete.json.

    .venv/bin/python -m benchmarks.bench_autocomplete --keystrokes 500 --gap-ms 40
"""

from __future__ import annotations

import argparse
import re
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from benchmarks.common import median, pct, write

PROSE = (
    "Hi Sam,\n\nThanks for the update on the budget. The meeting has been moved to next Tuesday at 10am, "
    "so please bring the printed copies of the report and the notes from last week. I will send the "
    "agenda by Friday and we can discuss the results with the whole team.\n\n"
    "About the office move: the new building is ready and the keys will be available on Monday morning. "
    "Please let me know if you have any questions about the plan, and thank you again for all your help "
    "with the project this year.\n\nBest regards,\nAna\n"
)
CODE = (
    "import os\nimport sys\n\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.strip() "
    "for line in f]\n\n\ndef count_words(lines):\n    total = 0\n    for line in lines:\n        total += "
    'len(line.split())\n    return total\n\n\ndef main():\n    if len(sys.argv) < 2:\n        print("usage: '
    'count.py FILE")\n        return 1\n    path = sys.argv[1]\n    if not os.path.exists(path):\n        '
    'print("no such file")\n        return 1\n    lines = read_lines(path)\n    print(count_words(lines))\n'
    '    return 0\n\n\nif __name__ == "__main__":\n    sys.exit(main())\n'
)


def replay(text: str, n: int) -> list[str]:
    """Return the prefixes typed, one per keystroke, repeating the text if n exceeds it."""
    out, body = [], text
    while len(body) < n:
        body += "\n" + text
    for i in range(1, n + 1):
        out.append(body[:i])
    return out


def chars_saved(prefixes: list[str], tops: list[str]) -> float:
    """Share of characters saved by a user who presses Tab (one key) whenever the top suggestion
    matches the text that follows, and types one character otherwise."""
    full = prefixes[-1]
    by_pos = {len(p): t for p, t in zip(prefixes, tops)}
    pos, keys = 0, 0
    while pos < len(full):
        s = by_pos.get(pos, "")
        if s and full.startswith(s, pos) and len(s) > 1:
            pos += len(s)
        else:
            pos += 1
        keys += 1
    return 1 - keys / len(full)


def precision(prefixes: list[str], tops: list[str]) -> dict[str, float]:
    """Of the keystrokes that showed a suggestion, the share whose first word the user then typed:
    the text after the cursor starts with that word and the word ends there (so "me" shown as
    "me|thod" before the user types "me " counts as wrong)."""
    full = prefixes[-1]
    shown = right = 0
    for p, top in zip(prefixes, tops):
        if not top:
            continue
        shown += 1
        m = re.match(r"\s*[^\s]+", top)
        word = m.group(0) if m else top
        pos = len(p) + len(word)
        if full.startswith(word, len(p)) and (
            pos >= len(full) or not (full[pos].isalnum() or full[pos] == "_")
        ):
            right += 1
    return {"shown": shown, "precision": round(right / shown, 3) if shown else 0.0}


def stats(lat: list[float]) -> dict[str, float]:
    return {
        "n": len(lat),
        "p50_ms": round(pct(lat, 50), 2),
        "p95_ms": round(pct(lat, 95), 2),
        "p99_ms": round(pct(lat, 99), 2),
        "median_ms": round(median(lat), 2),
    }


# -- ours ------------------------------------------------------------------------------------------------
def ours_caller(services: Any) -> tuple[Callable[[dict[str, Any]], dict[str, Any]], str, Callable[[], None]]:
    """Return (call(body) -> response dict, how, stop) for the daemon endpoint or the in-process skill."""
    import assistant.api as api

    if "autocomplete" in api.BY_NAME:
        import threading

        import httpx

        from assistant.daemon.app import create_app
        from assistant.daemon.apps import AppRegistry
        from assistant.daemon.server import DaemonServer, bind
        from assistant.daemon.settings import DaemonConfig

        settings = DaemonConfig.from_config(services.config).with_tcp("127.0.0.1:0")
        registry = AppRegistry(settings.registry_path)
        if "bench" in {a.name for a in registry.list()}:
            registry.revoke("bench")  # a fresh token each run; the previous one is of no use
        token = registry.add("bench", "autocomplete")
        server = DaemonServer(create_app(services, settings, registry), bind(settings))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.server.started:
            time.sleep(0.01)
        port = server.listeners.tcp_address[1]
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=120
        )

        def call(body: dict[str, Any]) -> dict[str, Any]:
            r = client.post("/v1/skills/autocomplete", json=body)
            r.raise_for_status()
            out: dict[str, Any] = r.json()
            return out

        def stop() -> None:
            client.close()
            server.server.should_exit = True

        return call, "daemon (HTTP 127.0.0.1)", stop

    from skills.autocomplete import CompleteRequest

    skill = services.skill("autocomplete")

    def call_inproc(body: dict[str, Any]) -> dict[str, Any]:
        r = skill.complete(
            CompleteRequest(
                prefix=body["prefix"],
                suffix=body.get("suffix", ""),
                kind=body["kind"],
                doc=body["session"],
                max_suggestions=1,
                budget_ms=body.get("budget_ms"),
            )
        )
        return {
            "suggestions": [{"text": s.text, "source": s.source} for s in r.suggestions],
            "model_called": r.model_called,
            "partial": r.partial,
        }

    return call_inproc, "in-process (autocomplete endpoint not registered in assistant.api)", lambda: None


def run_ours(
    call: Callable[[dict[str, Any]], dict[str, Any]],
    prefixes: list[str],
    kind: str,
    gap: float,
    budget_ms: float | None = None,
    session: str = "",
) -> dict[str, Any]:
    lat, tops, sources = [], [], {"model": 0, "type_through": 0, "phrase": 0, "name": 0, "word": 0, "none": 0}
    model_calls = partial = 0
    lat_model: list[float] = []  # keystrokes that started a model call (they wait up to the budget)
    lat_other: list[float] = []  # answered without waiting: type-through, word completion, phrases
    for i, p in enumerate(prefixes):
        t0 = time.perf_counter()
        body: dict[str, Any] = {"session": f"bench-{kind}{session}", "prefix": p, "kind": kind}
        if budget_ms is not None:
            body["budget_ms"] = budget_ms
        r = call(body)
        lat.append((time.perf_counter() - t0) * 1000)
        (lat_model if r["model_called"] else lat_other).append(lat[-1])
        sug = r["suggestions"]
        tops.append(sug[0]["text"] if sug else "")
        sources[sug[0]["source"] if sug else "none"] += 1
        model_calls += bool(r["model_called"])
        partial += bool(r["partial"])
        time.sleep(gap)
    return {
        **stats(lat),
        "model_calls": model_calls,
        "partial": partial,
        "top_sources": sources,
        "model_call_keystrokes": stats(lat_model) if lat_model else {},
        "other_keystrokes": stats(lat_other) if lat_other else {},
        "chars_saved": round(chars_saved(prefixes, tops), 3),
        **precision(prefixes, tops),
    }


# -- prompts shared by server and naive paths --------------------------------------------------------------
def prompts_for(prefixes: list[str], kind: str, options: Any) -> list[str]:
    from skills.autocomplete.text import window_start

    out, start = [], None
    size = options.window_chars_code if kind == "code" else options.window_chars_prose
    for p in prefixes:
        start = window_start(p, start, size)
        body = p[start:]
        out.append(f"<|fim_prefix|>{body}<|fim_suffix|><|fim_middle|>" if kind == "code" else body)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_server(
    model_path: str,
    prompts: list[str],
    prefixes: list[str],
    kind: str,
    max_tokens: int,
    stop: list[str],
    gap: float,
    threads: int,
) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            model_path,
            "--n_threads",
            str(threads),
            "--n_ctx",
            "4096",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("llama_cpp.server did not start") from None
                time.sleep(0.2)
        lat, tops = [], []
        for prompt in prompts:
            body = json.dumps(
                {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stop": stop}
            ).encode()
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/completions", body, {"Content-Type": "application/json"}
            )
            t0 = time.perf_counter()
            text = json.loads(urllib.request.urlopen(req, timeout=300).read())["choices"][0]["text"]
            lat.append((time.perf_counter() - t0) * 1000)
            tops.append(text)
            time.sleep(gap)
        return {
            **stats(lat),
            "chars_saved": round(chars_saved(prefixes, tops), 3),
            **precision(prefixes, tops),
        }
    finally:
        proc.terminate()
        proc.wait(10)


def run_naive(
    engine: Any, prompts: list[str], samples: int, max_tokens: int, stop: tuple[str, ...]
) -> dict[str, Any]:
    from runtime.engines.base import GenerationOptions

    step = max(1, len(prompts) // samples)
    lat = []
    for prompt in prompts[::step][:samples]:
        engine.llm.reset()
        t0 = time.perf_counter()
        engine.complete(prompt, GenerationOptions(max_tokens=max_tokens, temperature=0.0, stop=stop))
        lat.append((time.perf_counter() - t0) * 1000)
    return {**stats(lat), "sampled_every": step}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keystrokes", type=int, default=500)
    ap.add_argument(
        "--gap-ms", type=float, default=40.0, help="pause between keystrokes (a fast typist: ~60 ms)"
    )
    ap.add_argument("--naive-samples", type=int, default=25)
    ap.add_argument("--kinds", default="prose,code")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--budget-ms", type=float, default=None, help="budget sent with each request (default: the skill's)"
    )
    ap.add_argument("--only-ours", action="store_true", help="skip the server and naive paths (for sweeps)")
    ap.add_argument(
        "--finished-words",
        action="store_true",
        help="also run prose with the finished-word rule off (precision of shown suggestions vs savings)",
    )
    args = ap.parse_args()
    from runtime.config import Config
    from assistant.services import Services

    home = Path(os.environ.get("ASSISTANT_HOME") or tempfile.mkdtemp(prefix="bench-ac-"))
    cfg = Config.from_env({**os.environ, "ASSISTANT_HOME": str(home)}).with_(threads=args.threads)
    services = Services(cfg)
    skill = services.skill("autocomplete")
    skill.phrases.clear()
    call, how, stop_ours = ours_caller(services)
    results: dict[str, Any] = {
        "ours_path": how,
        "keystrokes": args.keystrokes,
        "gap_ms": args.gap_ms,
        "threads": args.threads,
        "budget_ms": args.budget_ms or "skill default",
        "kinds": {},
    }
    try:
        for kind in args.kinds.split(","):
            text = PROSE if kind == "prose" else CODE
            prefixes = replay(text, args.keystrokes)
            role = "fim" if kind == "code" else "autocomplete"
            model_id = services.runtime.model_for(role)
            path = str(services.runtime.store.ensure(model_id).path)
            with services.runtime.scheduler.use(model_id) as engine:
                pass
            opts = skill.options
            max_tokens = opts.max_tokens_code if kind == "code" else opts.max_tokens_prose
            stop = ["\n"]
            prompts = prompts_for(prefixes, kind, opts)
            print(f"[{kind}] {model_id}: {len(prefixes)} keystrokes", flush=True)
            ours = run_ours(call, prefixes, kind, args.gap_ms / 1000, args.budget_ms)
            print(f"  ours   {ours}", flush=True)
            if args.finished_words and kind == "prose":
                # the same keystrokes with the finished-word rule off, for precision vs savings
                import dataclasses

                skill.options = dataclasses.replace(opts, keep_finished_words=False)
                off = run_ours(call, prefixes, kind, args.gap_ms / 1000, args.budget_ms, session="-off")
                skill.options = opts
                print(f"  ours, finished-word rule off {off}", flush=True)
                results.setdefault("finished_words", {})[kind] = {"on": ours, "off": off}
            if args.only_ours:
                results["kinds"][kind] = {"model": model_id, "ours": ours}
                continue
            with services.runtime.scheduler.use(model_id) as engine:
                naive = run_naive(engine, prompts, args.naive_samples, max_tokens, tuple(stop))
            print(f"  naive  {naive}", flush=True)
            services.runtime.scheduler.unload(model_id)  # free the cores' cache for the server's copy
            server = run_server(
                path, prompts, prefixes, kind, max_tokens, stop, args.gap_ms / 1000, args.threads
            )
            print(f"  server {server}", flush=True)
            ratios = {
                "server_p95_over_ours_p95": round(server["p95_ms"] / max(ours["p95_ms"], 1e-6), 2),
                "server_p50_over_ours_p50": round(server["p50_ms"] / max(ours["p50_ms"], 1e-6), 2),
                "naive_p50_over_ours_p50": round(naive["p50_ms"] / max(ours["p50_ms"], 1e-6), 1),
                "naive_p95_over_ours_p95": round(naive["p95_ms"] / max(ours["p95_ms"], 1e-6), 1),
            }
            print(f"  ratios {ratios}", flush=True)
            results["kinds"][kind] = {
                "model": model_id,
                "ours": ours,
                "server": server,
                "naive": naive,
                "ratios": ratios,
            }
    finally:
        stop_ours()
        services.close()
    print("wrote", write("autocomplete_sweep" if args.only_ours else "autocomplete", results))


if __name__ == "__main__":
    main()
