"""Cold start of the TUI: time from launching `assistant tui` in a pseudo-terminal to its first
frame (the chat screen drawn), with the chat model loading in the background, not blocking it.

Usage: .venv/bin/python -m benchmarks.bench_tui [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import median, pct, write

MARK = b"Conversations"  # drawn by the chat screen's first frame


def one_run(exe: str, env: dict[str, str], timeout: float = 30.0) -> float:
    """Return seconds from spawn to the first frame containing the chat screen."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "tui"], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
    )
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - t0 < timeout:
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
                if MARK in seen:
                    return time.perf_counter() - t0
        raise RuntimeError(f"no first frame within {timeout} s; output: {seen[-400:]!r}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(master)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("assistant"))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="35")
    one_run(exe, env)  # warm the OS file cache: we measure our start-up, not the disk
    times = [one_run(exe, env) for _ in range(args.runs)]
    data = {
        "runs": args.runs,
        "first_frame_s": {"median": median(times), "p90": pct(times, 90), "min": min(times), "all": times},
        "target_s": 1.0,
    }
    path = write("bench_tui", data)
    print(
        f"TUI first frame: median {median(times):.3f} s, p90 {pct(times, 90):.3f} s over {args.runs} runs "
        f"(target 1.0 s)\nwrote {path}"
    )


if __name__ == "__main__":
    main()
