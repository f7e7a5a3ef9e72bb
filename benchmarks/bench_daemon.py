"""Daemon benchmark: streaming tokens/s through the daemon (Unix socket) vs in-process vs
llama-cpp-python's own OpenAI server on the same model; /health and a 1-token completion under
64 concurrent clients; 16 concurrent streaming chats; idle daemon RSS.

    .venv/bin/python -m benchmarks.bench_daemon --runs 3 --tokens 128
    .venv/bin/python -m benchmarks.bench_daemon --health-under-load 20 --rounds 3   # /health only

Tokens/s everywhere is the client's view: streamed pieces after the first, over the time from the
first piece to the last, so prompt processing and connection set-up are left out alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx

from benchmarks.common import median, pct, write

MODEL = "smollm2-135m"
PROMPT = "Write a long, detailed story about a dragon who learns to bake bread."


def _rate(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 and stamps[-1] > stamps[0] else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start")


def _sse_stamps(lines: Iterator[str]) -> list[float]:
    stamps = []
    for line in lines:
        if not line.startswith("data: {"):
            continue
        data = json.loads(line[6:])
        choice = (data.get("choices") or [{}])[0]
        if (choice.get("delta") or {}).get("content") or choice.get("text"):
            stamps.append(time.perf_counter())
    return stamps


class InProcess:
    """The runtime in this process: the baseline the daemon is compared with."""

    def __init__(self, home: Path) -> None:
        from runtime.config import Config
        from runtime.runtime import Runtime

        self.rt = Runtime(Config.from_env({"ASSISTANT_HOME": str(home), "ASSISTANT_THREADS": "2"}))

    def rate(self, tokens: int) -> float:
        from runtime.engines.base import ChatMessage, GenerationOptions

        opts = GenerationOptions(max_tokens=tokens, temperature=0)
        return _rate(
            [
                time.perf_counter()
                for ev in self.rt.chat([ChatMessage("user", PROMPT)], opts, model=MODEL)
                if ev.text
            ]
        )


def stream_rate(client: httpx.Client, tokens: int, model: str) -> float:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": tokens,
        "temperature": 0,
        "stream": True,
    }
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        return _rate(_sse_stamps(r.iter_lines()))


async def _load(
    sock: str, token: str, method: str, path: str, body: Any, clients: int, per: int
) -> tuple[list[float], int]:
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=sock, limits=limits),
        timeout=300,
        base_url="http://localhost",
        headers={"Authorization": f"Bearer {token}"},
    ) as c:

        async def one() -> None:
            nonlocal errors
            for _ in range(per):
                t0 = time.perf_counter()
                r = await c.request(method, path, json=body)
                lat.append(time.perf_counter() - t0)
                errors += r.status_code != 200

        await asyncio.gather(*(one() for _ in range(clients)))
    return lat, errors


async def _chats(sock: str, token: str, n: int, tokens: int) -> tuple[int, int]:
    ok = errors = 0
    async with httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=sock),
        timeout=600,
        base_url="http://localhost",
        headers={"Authorization": f"Bearer {token}"},
    ) as c:

        async def one(i: int) -> None:
            nonlocal ok, errors
            body = {
                "model": MODEL,
                "messages": [{"role": "user", "content": f"Count to {i}."}],
                "max_tokens": tokens,
                "stream": True,
            }
            async with c.stream("POST", "/v1/chat/completions", json=body) as r:
                text = "".join([line async for line in r.aiter_lines()])
                done = r.status_code == 200 and "[DONE]" in text and '"error"' not in text
                ok += done
                errors += not done

        await asyncio.gather(*(one(i) for i in range(n)))
    return ok, errors


async def _clients_under_load(sock: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    """clients each run 1-token completions back to back and ask /health between them; return the
    latencies (s) they saw."""
    body = {"model": MODEL, "prompt": "The meeting is moved to", "max_tokens": 1, "temperature": 0}
    same: list[float] = []
    completions: list[float] = []
    errors = 0
    async with httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(uds=sock, limits=httpx.Limits(max_connections=clients)),
        timeout=300,
        base_url="http://localhost",
        headers={"Authorization": f"Bearer {token}"},
    ) as c:
        stop = time.monotonic() + seconds

        async def client() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = await c.post("/v1/completions", json=body)
                completions.append(time.perf_counter() - t0)
                errors += r.status_code != 200
                t0 = time.perf_counter()
                r = await c.get("/health")
                same.append(time.perf_counter() - t0)
                errors += r.status_code != 200

        await asyncio.gather(*(client() for _ in range(clients)))
    return {"health": same, "completions": completions, "errors": errors}


def _probe(sock: str, seconds: float, every: float = 0.05) -> list[float]:
    """Ask /health every `every` s over one raw keep-alive connection; return the latencies (s).

    Raw blocking socket in its own process: the latency is the daemon's, not a busy client loop's.
    """
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    lat: list[float] = []
    stop = time.monotonic() + seconds
    request = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("the daemon closed the probe connection")
            data += chunk
        lat.append(time.perf_counter() - t0)
        time.sleep(max(0.0, every - (time.perf_counter() - t0)))
    s.close()
    return lat


def _load_process(sock: str, token: str, clients: int, seconds: float, out: str) -> None:
    Path(out).write_text(json.dumps(asyncio.run(_clients_under_load(sock, token, clients, seconds))))


def _summary(lat: list[float]) -> dict[str, float]:
    return {"n": len(lat), "p50": pct(lat, 50) * 1e3, "p99": pct(lat, 99) * 1e3, "max": max(lat) * 1e3}


def health_under_load(clients: int, seconds: float, rounds: int, threads: int, procs: int = 1) -> None:
    """`--health-under-load`: only the /health-while-completing measurement, on a fresh daemon."""
    home = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    env = {
        **os.environ,
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_THREADS": str(threads),
        "ASSISTANT_CHAT_MODEL": MODEL,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "daemon", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sock = str(home / "run" / "assistant.sock")
    token_file = home / "data" / "owner.token"
    try:
        _wait(
            lambda: token_file.exists()
            and httpx.Client(transport=httpx.HTTPTransport(uds=sock))
            .get("http://localhost/health")
            .status_code
            == 200,
            "daemon",
        )
        token = token_file.read_text().strip()
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=sock), base_url="http://localhost", timeout=300
        ) as c:  # load the model before timing anything
            body = {"model": MODEL, "prompt": "Hi", "max_tokens": 1}
            c.post(
                "/v1/completions", json=body, headers={"Authorization": f"Bearer {token}"}
            ).raise_for_status()
        out = []
        for i in range(rounds):
            # the clients in `procs` processes, the prober in this one: no process's own scheduling
            # delays show up as the daemon's latency more than it must
            per = [clients // procs + (k < clients % procs) for k in range(procs)]
            dumps = [home / f"load{i}-{k}.json" for k in range(procs)]
            loads = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        "import sys; from benchmarks.bench_daemon import _load_process as f; "
                        "f(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])",
                        sock,
                        token,
                        str(n),
                        str(seconds),
                        str(dump),
                    ]
                )
                for n, dump in zip(per, dumps)
            ]
            time.sleep(2.0)  # let every client get its first request in
            probe = _probe(sock, seconds - 3.0)
            for load in loads:
                load.wait(seconds + 120)
            parts = [json.loads(d.read_text()) for d in dumps]
            got = {
                "health": [x for p in parts for x in p["health"]],
                "completions": [x for p in parts for x in p["completions"]],
                "errors": sum(p["errors"] for p in parts),
            }
            out.append(
                {
                    "clients": clients,
                    "client_processes": procs,
                    "seconds": seconds,
                    "health_between_completions_ms": _summary(got["health"]),
                    "health_probe_ms": _summary(probe),
                    "completion_1_token_ms": _summary(got["completions"]),
                    "errors": got["errors"],
                    "load_average_1min": os.getloadavg()[0],
                }
            )
    finally:
        proc.terminate()
        proc.wait(20)
    for i, r in enumerate(out, 1):
        h, p, cpl = r["health_between_completions_ms"], r["health_probe_ms"], r["completion_1_token_ms"]
        print(
            f"round {i}: /health between completions p50 {h['p50']:.1f} / p99 {h['p99']:.1f} ms; "
            f"probe p50 {p['p50']:.1f} / p99 {p['p99']:.1f} ms; 1-token completions p50 {cpl['p50']:.0f} ms "
            f"(n {cpl['n']}); errors {r['errors']}"
        )
    path = write(
        "daemon_health_under_load" + (f"_{procs}procs" if procs > 1 else ""),
        {
            "model": MODEL,
            "threads": threads,
            "rounds": out,
            "median_health_p99_ms": median([r["health_between_completions_ms"]["p99"] for r in out]),
            "median_probe_p99_ms": median([r["health_probe_ms"]["p99"] for r in out]),
            "load_average": os.getloadavg(),
        },
    )
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--per-client", type=int, default=10)
    ap.add_argument("--skip-llama-server", action="store_true")
    ap.add_argument(
        "--health-under-load",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="only measure /health while --clients run 1-token completions, for SECONDS per round",
    )
    ap.add_argument("--rounds", type=int, default=3, help="rounds of --health-under-load")
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp threads for --health-under-load")
    ap.add_argument(
        "--client-procs",
        type=int,
        default=1,
        help="processes the --clients are spread over (--health-under-load)",
    )
    args = ap.parse_args()
    if args.health_under_load:
        health_under_load(args.clients, args.health_under_load, args.rounds, args.threads, args.client_procs)
        return

    home = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_THREADS": "2", "ASSISTANT_CHAT_MODEL": MODEL}
    from runtime.config import Config
    from runtime.store import ModelStore

    model_path = ModelStore(Config.from_env(env).models_dir).ensure(MODEL).path
    results: dict[str, Any] = {"model": MODEL, "tokens": args.tokens, "runs": args.runs}

    # The three contenders run side by side and are measured in turn, run after run, so that load
    # from elsewhere on the machine falls on all of them alike.
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "daemon", "run"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        daemon_pid = procs[0].pid
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
        time.sleep(1.0)
        results["idle_rss_mb"] = round(_rss_mb(daemon_pid), 1)
        token = token_file.read_text().strip()
        server: httpx.Client | None = None
        if not args.skip_llama_server:
            port = _free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "llama_cpp.server",
                        "--model",
                        str(model_path),
                        "--n_threads",
                        "2",
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
            )
            _wait(
                lambda: httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200, "llama_cpp.server"
            )
            server = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        inproc = InProcess(home)
        daemon_tps: list[float] = []
        inproc_tps: list[float] = []
        server_tps: list[float] = []
        with httpx.Client(
            transport=httpx.HTTPTransport(uds=sock),
            base_url="http://localhost",
            timeout=600,
            headers={"Authorization": f"Bearer {token}"},
        ) as c:
            for run in range(args.runs + 1):  # run 0 loads the models and is not counted
                d_, i_ = stream_rate(c, args.tokens, MODEL), inproc.rate(args.tokens)
                s_ = stream_rate(server, args.tokens, MODEL) if server is not None else float("nan")
                if run:
                    daemon_tps.append(d_)
                    inproc_tps.append(i_)
                    server_tps.append(s_)
                    print(f"run {run}: daemon {d_:.1f}, in-process {i_:.1f}, llama_cpp.server {s_:.1f} tok/s")
        inproc.rt.close()
        if server is not None:
            server.close()
            procs.pop().terminate()
        health, health_err = asyncio.run(
            _load(sock, token, "GET", "/health", None, args.clients, args.per_client)
        )
        call_body = {"model": MODEL, "prompt": "The meeting is moved to", "max_tokens": 1, "temperature": 0}
        calls, call_err = asyncio.run(
            _load(sock, token, "POST", "/v1/completions", call_body, args.clients, 1)
        )
        ok16, err16 = asyncio.run(_chats(sock, token, 16, 16))
        results["loaded_rss_mb"] = round(_rss_mb(daemon_pid), 1)
    finally:
        for p in procs:
            p.terminate()
            p.wait(20)

    if args.skip_llama_server:
        server_tps = []
    d, i, s = median(daemon_tps), median(inproc_tps), median(server_tps)
    results.update(
        {
            "stream_tokens_per_s": {
                "daemon_unix": daemon_tps,
                "in_process": inproc_tps,
                "llama_cpp_server": server_tps,
            },
            "median_tokens_per_s": {"daemon_unix": d, "in_process": i, "llama_cpp_server": s},
            "ratio_daemon_vs_in_process": d / i if i else None,
            "ratio_daemon_vs_llama_cpp_server": d / s if s else None,
            "ratio_llama_cpp_server_vs_in_process": s / i if i and s else None,
            "health_ms": {
                "clients": args.clients,
                "n": len(health),
                "p50": pct(health, 50) * 1e3,
                "p99": pct(health, 99) * 1e3,
                "errors": health_err,
            },
            "completion_1_token_ms": {
                "clients": args.clients,
                "n": len(calls),
                "p50": pct(calls, 50) * 1e3,
                "p99": pct(calls, 99) * 1e3,
                "errors": call_err,
                "note": "stand-in for an autocomplete call: no skill endpoint was served",
            },
            "concurrent_streaming_chats": {"n": 16, "completed": ok16, "errors": err16},
        }
    )
    path = write("daemon", results)
    print(f"streaming tok/s (median): daemon {d:.1f}, in-process {i:.1f}, llama_cpp.server {s:.1f}")
    print(
        f"daemon / in-process = {results['ratio_daemon_vs_in_process'] or float('nan'):.2f} (target >= 0.93); "
        f"daemon / llama_cpp.server = {results['ratio_daemon_vs_llama_cpp_server'] or float('nan'):.2f} (target >= 1.5)"
    )
    print(
        f"/health under {args.clients} clients: p50 {results['health_ms']['p50']:.1f} ms, "
        f"p99 {results['health_ms']['p99']:.1f} ms, errors {health_err}"
    )
    print(
        f"1-token completion under {args.clients} clients: p50 {results['completion_1_token_ms']['p50']:.0f} ms, "
        f"p99 {results['completion_1_token_ms']['p99']:.0f} ms, errors {call_err}"
    )
    print(f"16 concurrent streaming chats: {ok16} completed, {err16} errors")
    print(
        f"idle daemon RSS {results['idle_rss_mb']} MB (target < 120); with {MODEL} loaded {results['loaded_rss_mb']} MB"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
