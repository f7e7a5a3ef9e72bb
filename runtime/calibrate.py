"""Measured speed of each text model on this device: prompt and generation tokens per second.

The role planner (runtime/roles.py) picks models from these numbers, never from guesses. A
calibration is a short real run (a ~200-token prompt, then up to 32 generated tokens) on the
loaded engine; it is cached in the data dir keyed by what changes the speed: the model file's
sha256, the device (device plan plus CPU), the llama.cpp build and the thread count. When any of
those changes the old entry no longer matches and the model counts as uncalibrated until
`assistant doctor --calibrate` measures it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

from runtime.engines.base import CancelToken, GenerationOptions, GenerationStats, TokenEvent

if TYPE_CHECKING:
    from runtime.config import Config
    from runtime.planner import EnginePlan
    from runtime.probe import Facts
    from runtime.roles import Candidate, RoleChoice, RoleTargets
    from runtime.runtime import Runtime
    from runtime.store import InstalledModel

CACHE_FILE = "calibrations.json"
PROMPT_WORDS = 150  # ~200 tokens: long enough that batch setup does not dominate prompt speed
GEN_TOKENS = 32
# Plain prose the model will happily continue, so generation does not stop early.
_FILLER = (
    "The library on Elm Street opens at nine and closes at six. On Saturdays the reading room hosts "
    "a story hour for children, and on Sundays volunteers repair old books in the basement. "
)


@dataclass(frozen=True)
class CalibrationKey:
    """What a measured speed depends on; a change in any field makes the old measurement stale."""

    sha256: str
    device: str  # e.g. "cpu/AMD EPYC 7B13" or "cuda/NVIDIA RTX 4060 Laptop GPU"
    build: str  # llama.cpp build: python binding version plus a hash of its system info
    threads: int


@dataclass(frozen=True)
class Calibration:
    """One model's measured speed on one device and build."""

    model_id: str
    key: CalibrationKey
    prompt_tps: float  # prompt tokens evaluated per second
    gen_tps: float  # tokens generated per second after the first
    n_params: int  # parameters, read from the loaded model (0 when unknown)
    prompt_tokens: int  # prompt length the speed was measured on
    measured_at: float  # unix seconds
    load: float = 0.0  # 1-minute load average per core while measuring (> 1: other work competed)

    def ttft(self, prompt_tokens: int) -> float:
        """Return the expected seconds to the first token for an uncached prompt of this length."""
        prompt = prompt_tokens / self.prompt_tps if self.prompt_tps > 0 else float("inf")
        first = 1.0 / self.gen_tps if self.gen_tps > 0 else float("inf")
        return prompt + first

    def to_dict(self) -> dict[str, object]:
        """Return the calibration as JSON-able builtins."""
        return asdict(self)


class CalibrationCache:
    """Calibrations in one JSON file in the data dir; unreadable files count as empty."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Calibration]:
        """Return every stored calibration (any key)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [_from_dict(d) for d in raw.get("entries", [])]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return []

    def get(self, key: CalibrationKey) -> Calibration | None:
        """Return the calibration stored for exactly this key."""
        return next((c for c in self.load() if c.key == key), None)

    def put(self, cal: Calibration) -> None:
        """Store cal, replacing any entry with the same key; written atomically."""
        entries = [c for c in self.load() if c.key != cal.key] + [cal]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"version": 1, "entries": [c.to_dict() for c in entries]}, indent=1), encoding="utf-8"
        )
        os.replace(tmp, self.path)


def _from_dict(d: dict[str, object]) -> Calibration:
    k = d["key"]
    assert isinstance(k, dict)
    return Calibration(
        model_id=str(d["model_id"]),
        key=CalibrationKey(str(k["sha256"]), str(k["device"]), str(k["build"]), int(k["threads"])),
        prompt_tps=float(d["prompt_tps"]),  # type: ignore[arg-type]
        gen_tps=float(d["gen_tps"]),  # type: ignore[arg-type]
        n_params=int(d.get("n_params", 0)),  # type: ignore[call-overload]
        prompt_tokens=int(d.get("prompt_tokens", 0)),  # type: ignore[call-overload]
        measured_at=float(d.get("measured_at", 0.0)),  # type: ignore[arg-type]
        load=float(d.get("load", 0.0)),  # type: ignore[arg-type]
    )


def llama_build() -> str:
    """Return an id of the installed llama.cpp build: binding version plus a hash of its system info
    (backends and CPU features compiled in), so a rebuild with other flags reads as a new build."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    return f"llama-cpp-python {llama_cpp.__version__} #{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def device_id(device: str, cpu_model: str) -> str:
    """Return the device part of a key: where the model runs, plus the CPU it runs beside."""
    return f"{device}/{cpu_model}"


class MeasurableEngine(Protocol):
    """What a calibration needs from a loaded text engine."""

    def stream(
        self, prompt: str, options: GenerationOptions = ..., cancel: CancelToken | None = None
    ) -> Iterator[TokenEvent]: ...


def measure(
    engine: MeasurableEngine, prompt_words: int = PROMPT_WORDS, gen_tokens: int = GEN_TOKENS
) -> GenerationStats:
    """Run one uncached prompt plus a short generation on engine; return its stats."""
    words = (_FILLER * (prompt_words // len(_FILLER.split()) + 1)).split()[:prompt_words]
    # a fresh nonce first, so no cached prefix from an earlier prompt makes the prompt look fast
    prompt = f"Note {time.time_ns()}. " + " ".join(words) + " Next week the library"
    opts = GenerationOptions(max_tokens=gen_tokens, temperature=0.0)
    stream = engine.stream(prompt, opts)
    while True:
        try:
            next(stream)
        except StopIteration as stop:
            stats = stop.value
            assert isinstance(stats, GenerationStats)
            return stats


def n_params(engine: object) -> int:
    """Return the loaded model's parameter count, or 0 when the engine cannot say."""
    llm = getattr(engine, "llm", None)
    try:
        import llama_cpp

        return int(llama_cpp.llama_model_n_params(llm.model))  # type: ignore[union-attr]
    except Exception:
        return 0


def calibration_from(model_id: str, key: CalibrationKey, stats: GenerationStats, params: int) -> Calibration:
    """Return the calibration a measured run gives."""
    return Calibration(
        model_id=model_id,
        key=key,
        prompt_tps=round(stats.prompt_tokens_per_second, 2),
        gen_tps=round(stats.tokens_per_second, 2),
        n_params=params,
        prompt_tokens=stats.evaluated_prompt_tokens,
        measured_at=time.time(),
        load=round(_load_per_core(), 2),
    )


def _load_per_core() -> float:
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:  # not on every platform
        return 0.0


# -- glue: from the runtime's store, facts and config to the role planner's inputs ------------------
BUILTIN_CHAT_MODEL = "qwen2.5-coder-0.5b"
BUILTIN_SMALL_MODEL = "smollm2-135m"


def targets_from(config: Config) -> RoleTargets:
    """Return the role targets the settings ask for."""
    from runtime.roles import RoleTargets

    return RoleTargets(
        chat_min_tps=config.chat_min_tps,
        grounded_max_ttft=config.grounded_max_ttft,
        grounded_prompt_tokens=config.grounded_prompt_tokens,
        voice_max_ttft=config.voice_max_ttft,
        autocomplete_min_tps=config.autocomplete_min_tps,
        fim_min_tps=config.fim_min_tps,
    )


def defaults_from(config: Config) -> dict[str, str]:
    """Return the configured model per role, used until calibrations say otherwise."""
    chat = config.chat_model
    return {"chat": chat, "grounded": chat, "voice": chat, "fim": chat, "autocomplete": config.small_model}


def forced_from(config: Config) -> dict[str, tuple[str, str]]:
    """Return role -> (model id, setting) for every role the user forced."""
    out = {role: (model, var) for role, model, var in config.forced_models}
    # a Config built in code (tests, embedding apps) forces by changing the field itself
    if config.chat_model != BUILTIN_CHAT_MODEL:
        for role in ("chat", "grounded", "voice"):
            out.setdefault(role, (config.chat_model, "the chat_model setting"))
    if config.small_model != BUILTIN_SMALL_MODEL:
        out.setdefault("autocomplete", (config.small_model, "the small_model setting"))
    return out


def key_for(model: InstalledModel, facts: Facts, plan: EnginePlan, build: str) -> CalibrationKey:
    """Return the key a model's calibration is stored under on this device and build."""
    p = plan.primary
    return CalibrationKey(
        model.sha256 or f"size:{model.size}", device_id(p.device, facts.cpu_model), build, p.threads
    )


def text_models(models: list[InstalledModel]) -> list[InstalledModel]:
    """Return the installed GGUF models (the ones the role planner can choose)."""
    return [m for m in models if m.format == "gguf"]


def candidates(
    models: list[InstalledModel], cache: CalibrationCache, key: Callable[[InstalledModel], CalibrationKey]
) -> list[Candidate]:
    """Return the role planner's candidates, each with its calibration for this key (or None)."""
    from runtime.roles import Candidate

    stored = {c.key: c for c in cache.load()}
    return [Candidate(m.id, m.roles, m.size, stored.get(key(m))) for m in text_models(models)]


def cache_for(config: Config) -> CalibrationCache:
    """Return the calibration cache in the configured data dir."""
    return CalibrationCache(config.data_dir / CACHE_FILE)


def current_calibrations(rt: Runtime) -> list[Calibration]:
    """Return the stored calibrations that match this device, build and thread count."""
    cache, gguf = cache_for(rt.config), text_models(rt.store.list())
    # nothing calibrated anywhere: no need to probe the machine to know every model is uncalibrated
    if not gguf or not cache.load():
        return []
    build = llama_build()
    keys = {key_for(m, rt.facts, rt.plans["gguf"], build) for m in gguf}
    return [c for c in cache.load() if c.key in keys]


def role_plan(rt: Runtime) -> dict[str, RoleChoice]:
    """Return the role plan for a runtime's installed models, device and settings."""
    from runtime.roles import Candidate, plan_roles

    cfg, gguf = rt.config, text_models(rt.store.list())
    by_sha = {c.key.sha256: c for c in current_calibrations(rt)}
    cands = [Candidate(m.id, m.roles, m.size, by_sha.get(m.sha256 or f"size:{m.size}")) for m in gguf]
    return plan_roles(cands, targets_from(cfg), defaults_from(cfg), forced_from(cfg))


def calibrate_installed(
    rt: Runtime, force: bool = False, only: tuple[str, ...] = (), report: Callable[[str], None] | None = None
) -> list[Calibration]:
    """Measure every installed GGUF model (or `only` these) that has no calibration for this device
    and build (all of them with force); store and return the new calibrations. Models load through
    the scheduler, so the memory budget and eviction apply."""
    cache, build = cache_for(rt.config), llama_build()
    out: list[Calibration] = []
    for m in text_models(rt.store.list()):
        if only and m.id not in only:
            continue
        key = key_for(m, rt.facts, rt.plans["gguf"], build)
        if not force and cache.get(key) is not None:
            continue
        if report is not None:
            report(f"calibrating {m.id}…")
        with rt.scheduler.use(m.id) as engine:
            measure(engine, prompt_words=20, gen_tokens=4)  # warm-up: first-call allocations are not speed
            cal = calibration_from(m.id, key, measure(engine), n_params(engine))
        cache.put(cal)
        out.append(cal)
    return out


__all__ = [
    "CACHE_FILE",
    "Calibration",
    "CalibrationCache",
    "CalibrationKey",
    "calibrate_installed",
    "calibration_from",
    "candidates",
    "current_calibrations",
    "role_plan",
    "device_id",
    "llama_build",
    "measure",
    "n_params",
]
