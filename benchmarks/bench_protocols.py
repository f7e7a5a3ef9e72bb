"""Protocol benchmark: streaming tokens/s through Ollama's /api/chat (NDJSON) next to /v1/chat/completions
(SSE) on the same daemon, model and prompt, measured in turn, run after run.

    .venv/bin/python -m benchmarks.bench_protocols --runs 5 --tokens 128

The verdict is the median of each run's /api/chat over /v1 ratio (the pair shares that moment's
load). Tokens/s is the client's view, as in bench_daemon: streamed pieces after the first, over the time
from the first piece to the last. The target: the two within 5% of each other.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.bench_daemon import MODEL, PROMPT, _rate, _wait, stream_rate
from benchmarks.common import median, write


def ollama_rate(client: httpx.Client, tokens: int, model: str) -> float:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "options": {"num_predict": tokens, "temperature": 0},
        "stream": True,
    }
    stamps = []
    with client.stream("POST", "/api/chat", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if line and (json.loads(line).get("message") or {}).get("content"):
                stamps.append(time.perf_counter())
    return _rate(stamps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=128)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-protocols-"))
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_THREADS": "2", "ASSISTANT_CHAT_MODEL": MODEL}
    from runtime.config import Config
    from runtime.store import ModelStore

    ModelStore(Config.from_env(env).models_dir).ensure(MODEL)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "daemon", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sock = str(home / "run" / "assistant.sock")
        token_file = home / "data" / "owner.token"
        _wait(
            lambda: token_file.exists()
            and httpx.Client(transport=httpx.HTTPTransport(uds=sock))
            .get("http://localhost/health")
            .status_code
            == 200,
            "daemon",
        )
        token = token_file.read_text().strip()
        v1: list[float] = []
        api: list[float] = []
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=sock),
            base_url="http://localhost",
            timeout=600,
            headers={"Authorization": f"Bearer {token}"},
        ) as c:
            for run in range(args.runs + 1):  # run 0 loads the model and is not counted
                # alternate which goes first, so a trend in the machine's load favours neither
                if run % 2:
                    o, s = ollama_rate(c, args.tokens, MODEL), stream_rate(c, args.tokens, MODEL)
                else:
                    s, o = stream_rate(c, args.tokens, MODEL), ollama_rate(c, args.tokens, MODEL)
                if run:
                    v1.append(s), api.append(o)
                    print(f"run {run}: /v1 {s:.1f}, /api/chat {o:.1f} tok/s")
    finally:
        daemon.terminate()
        daemon.wait(30)
    m_v1, m_api = median(v1), median(api)
    # each run's pair shares the machine's load of that moment: their ratio is the fairer comparison
    ratio = median([o / s for s, o in zip(v1, api) if s > 0])
    results = {
        "model": MODEL,
        "tokens": args.tokens,
        "runs": args.runs,
        "v1_chat_stream_tps": [round(x, 1) for x in v1],
        "ollama_chat_stream_tps": [round(x, 1) for x in api],
        "v1_median_tps": round(m_v1, 1),
        "ollama_median_tps": round(m_api, 1),
        "ollama_over_v1_median_of_runs": round(ratio, 3),
        "within_5_percent": abs(ratio - 1) <= 0.05,
        "load_average_1min": round(os.getloadavg()[0], 2),  # how busy the cores were (read, not assumed)
    }
    print(f"median /v1 {m_v1:.1f} tok/s, /api/chat {m_api:.1f} tok/s, median per-run ratio {ratio:.3f}")
    print(write("protocols", results))


if __name__ == "__main__":
    main()
