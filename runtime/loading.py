"""Load a model on the best planned device, falling back down the candidate list."""

from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

from runtime.errors import LoadError
from runtime.engines.base import LoadAttempt, LoadReport
from runtime.planner import DevicePlan, EnginePlan

T = TypeVar("T")
log = logging.getLogger(__name__)


def load_with_fallback(
    model_id: str,
    plan: EnginePlan,
    attempt: Callable[[DevicePlan], T],
    memory_bytes: Callable[[T], int] = lambda _: 0,
) -> tuple[T, LoadReport]:
    """Call attempt(candidate) for each planned device until one loads; return it with a report.

    Each failure is recorded (device, error, time) so users can see why a model is on the CPU
    when they expected the NPU or GPU.
    """
    attempts: list[LoadAttempt] = []
    t_all = time.perf_counter()
    for cand in plan.candidates:
        t0 = time.perf_counter()
        try:
            loaded = attempt(cand)
        except Exception as exc:  # any backend failure is a reason to try the next device
            msg = f"{type(exc).__name__}: {exc}".strip()
            attempts.append(LoadAttempt(cand.device, False, time.perf_counter() - t0, msg))
            log.warning("loading %s on %s failed (%s); trying the next device", model_id, cand.device, msg)
            continue
        attempts.append(LoadAttempt(cand.device, True, time.perf_counter() - t0))
        reasons = tuple(cand.reasons)
        if len(attempts) > 1:
            failed = "; ".join(f"{a.device}: {a.error}" for a in attempts[:-1])
            reasons = reasons + (f"fell back to {cand.device} after failures on {failed}",)
        report = LoadReport(
            model_id=model_id,
            device=cand.device,
            reasons=reasons,
            attempts=tuple(attempts),
            seconds=time.perf_counter() - t_all,
            memory_bytes=memory_bytes(loaded),
        )
        return loaded, report
    detail = "; ".join(f"{a.device}: {a.error}" for a in attempts)
    raise LoadError(
        f"could not load {model_id} on any device ({detail})",
        f"run `assistant models verify {model_id}`, and `assistant doctor` to see the devices",
    )
