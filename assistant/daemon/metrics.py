"""Daemon metrics and their Prometheus text rendering (no client library needed for this much)."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass
class Histogram:
    """Cumulative-bucket histogram, as Prometheus expects."""

    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: int = 0
    sum: float = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if value <= bound:
                self.counts[i] += 1
        self.total += 1
        self.sum += value


class DaemonMetrics:
    """Counters the daemon keeps itself; model counters come from the scheduler at render time."""

    def __init__(self) -> None:
        self._mu = threading.Lock()
        self.refused: dict[str, int] = defaultdict(int)
        self.latency: dict[str, Histogram] = defaultdict(Histogram)
        self.ttft: dict[str, Histogram] = defaultdict(Histogram)
        self.tokens: dict[str, int] = defaultdict(int)
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.finished: dict[tuple[str, str], int] = defaultdict(int)
        self.last: dict[str, tuple[str, int]] = {}
        """model -> (finish reason, completion tokens) of its latest generation through the daemon"""

    def refuse(self, reason: str) -> None:
        with self._mu:
            self.refused[reason] += 1

    def observe(self, skill: str, status: int, seconds: float) -> None:
        with self._mu:
            self.latency[skill].observe(seconds)
            self.requests[(skill, status)] += 1

    def generation(self, model: str, ttft: float, tokens: int, finish: str) -> None:
        with self._mu:
            if tokens:
                self.ttft[model].observe(ttft)
            self.tokens[model] += tokens
            self.finished[(model, finish)] += 1
            self.last[model] = (finish, tokens)

    def render(self, scheduler: Any | None) -> str:
        """Return every metric in Prometheus text exposition format 0.0.4."""
        out: list[str] = []

        def family(name: str, kind: str, help_: str) -> None:
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {kind}")

        with self._mu:
            family("assistant_requests_total", "counter", "Requests answered, by skill and status.")
            for (skill, status), n in sorted(self.requests.items()):
                out.append(f'assistant_requests_total{{skill="{_esc(skill)}",status="{status}"}} {n}')
            family("assistant_refused_total", "counter", "Requests refused, by reason.")
            for reason, n in sorted(self.refused.items()):
                out.append(f'assistant_refused_total{{reason="{_esc(reason)}"}} {n}')
            family("assistant_request_seconds", "histogram", "Request latency by skill.")
            for skill, h in sorted(self.latency.items()):
                _histogram(out, "assistant_request_seconds", f'skill="{_esc(skill)}"', h)
            family("assistant_time_to_first_token_seconds", "histogram", "Time to first token by model.")
            for model, h in sorted(self.ttft.items()):
                _histogram(out, "assistant_time_to_first_token_seconds", f'model="{_esc(model)}"', h)
            family(
                "assistant_generated_tokens_total",
                "counter",
                "Tokens generated through the daemon, by model.",
            )
            for model, n in sorted(self.tokens.items()):
                out.append(f'assistant_generated_tokens_total{{model="{_esc(model)}"}} {n}')
            family("assistant_generations_total", "counter", "Generations by model and finish reason.")
            for (model, finish), n in sorted(self.finished.items()):
                out.append(
                    f'assistant_generations_total{{model="{_esc(model)}",finish="{_esc(finish)}"}} {n}'
                )
        if scheduler is not None:
            _scheduler_metrics(out, family, scheduler)
        return "\n".join(out) + "\n"


def _scheduler_metrics(out: list[str], family: Any, scheduler: Any) -> None:
    metrics = dict(scheduler.metrics)
    rows = (
        ("assistant_model_loads_total", "counter", "Model loads.", lambda m, _: m.loads),
        ("assistant_model_evictions_total", "counter", "Model evictions.", lambda m, _: m.evictions),
        (
            "assistant_model_tokens_per_second",
            "gauge",
            "Decode speed of the last generation.",
            lambda m, _: round(m.last_tokens_per_second, 3),
        ),
        (
            "assistant_model_last_ttft_seconds",
            "gauge",
            "Time to first token of the last generation.",
            lambda m, _: round(m.last_ttft, 6),
        ),
        (
            "assistant_model_queue_depth",
            "gauge",
            "Requests waiting for the model.",
            lambda _, mid: scheduler.queue_depth(mid),
        ),
    )
    loaded = {m.model_id for m in scheduler.loaded()}
    for name, kind, help_, get in rows:
        family(name, kind, help_)
        for mid, m in sorted(metrics.items()):
            out.append(f'{name}{{model="{_esc(mid)}"}} {get(m, mid)}')
    family("assistant_model_loaded", "gauge", "1 while the model is in memory.")
    for mid in sorted(metrics):
        out.append(f'assistant_model_loaded{{model="{_esc(mid)}"}} {int(mid in loaded)}')


def _histogram(out: list[str], name: str, labels: str, h: Histogram) -> None:
    for bound, n in zip(BUCKETS, h.counts):
        out.append(f'{name}_bucket{{{labels},le="{bound}"}} {n}')
    out.append(f'{name}_bucket{{{labels},le="+Inf"}} {h.total}')
    out.append(f"{name}_sum{{{labels}}} {h.sum:.6f}")
    out.append(f"{name}_count{{{labels}}} {h.total}")


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
