"""Facts about the machine -> where each engine family runs, with a reason for every choice.

A plan is an ordered list of candidates, best first; the scheduler tries them in order and the
last one is always a CPU plan, so a broken driver or a missing provider costs speed, not the feature.

Forcing a device (Config.device / ASSISTANT_DEVICE) decides the device only for the families that
can run on it: forcing "qnn" moves ONNX models to the NPU but cannot put a GGUF model there, so
GGUF keeps its automatic plan and says so. A forced device that the family supports but this
machine lacks is kept first anyway (the user asked, and the reason says it was not detected),
followed by the CPU fallback; we do not raise, because the detection can be wrong (a provider
installed after the probe, a GPU hidden from a container) and the fallback keeps things working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.config import DEVICES
from runtime.errors import ConfigError
from runtime.probe import Facts

FAMILIES = ("gguf", "onnx", "ctranslate2")

# Devices each family can be placed on; anything else forced is ignored for that family.
FAMILY_DEVICES = {
    "gguf": ("cuda", "metal", "vulkan", "cpu"),
    "onnx": ("qnn", "cuda", "coreml", "dml", "cpu"),
    "ctranslate2": ("cuda", "cpu"),
}
ORT_PROVIDER = {
    "qnn": "QNNExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
CPU_EP: tuple[str, dict[str, str]] = ("CPUExecutionProvider", {})
LOW_BATTERY = 20.0  # percent below which an unplugged machine should save power
MOBILE_THREAD_CAP = 4


@dataclass(frozen=True)
class DevicePlan:
    """One way to run a model: the device plus the engine settings that go with it."""

    device: str  # one of runtime.config.DEVICES
    n_gpu_layers: int  # gguf: -1 offloads every layer, 0 keeps all on CPU; other families: 0
    # onnx: ordered (provider, options), always ending with the CPU provider so unsupported
    # operators still run; other families: empty.
    providers: tuple[tuple[str, dict[str, str]], ...]
    compute_type: str  # ctranslate2: "int8", "float16", ...; gguf and onnx: "default"
    threads: int  # CPU threads (intra-op for onnx, inter/intra for ctranslate2)
    reasons: tuple[str, ...]  # why this device and these settings, for `assistant doctor`

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-able builtins."""
        return {
            "device": self.device,
            "n_gpu_layers": self.n_gpu_layers,
            "providers": [[name, dict(opts)] for name, opts in self.providers],
            "compute_type": self.compute_type,
            "threads": self.threads,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class EnginePlan:
    """Candidates for one engine family, best first; the last is always the CPU fallback."""

    family: str
    candidates: tuple[DevicePlan, ...]

    @property
    def primary(self) -> DevicePlan:
        """Return the candidate to try first."""
        return self.candidates[0]

    @property
    def fallback(self) -> DevicePlan:
        """Return the CPU candidate tried last."""
        return self.candidates[-1]

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-able builtins."""
        return {"family": self.family, "candidates": [c.to_dict() for c in self.candidates]}


@dataclass(frozen=True)
class PlanOptions:
    """What the user asked for; None means decide from the facts."""

    force_device: str | None = None  # from Config.device / ASSISTANT_DEVICE
    threads: int | None = None  # from Config.threads / ASSISTANT_THREADS


def plan_threads(facts: Facts, options: PlanOptions) -> tuple[int, tuple[str, ...]]:
    """Return the CPU thread count and why."""
    if options.threads is not None:
        n = max(1, options.threads)
        return n, (f"{n} threads as configured (ASSISTANT_THREADS)",)
    n = max(1, facts.physical_cores)
    reasons = []
    if facts.logical_cores > facts.physical_cores:
        reasons.append(f"{n} threads, one per physical core: SMT siblings share the SIMD units")
    else:
        reasons.append(f"{n} threads, one per core")
    if (facts.os == "android" or facts.is_termux) and n > MOBILE_THREAD_CAP:
        n = MOBILE_THREAD_CAP
        reasons.append(
            f"capped at {n} threads: phone SoCs mix big and little cores, and work on the little ones "
            "makes the big ones wait"
        )
    b = facts.battery
    if b is not None and b.plugged is False and b.percent is not None and b.percent < LOW_BATTERY:
        n = max(1, n // 2)
        reasons.append(f"halved to {n} threads: on battery at {b.percent:.0f}%, saving power over speed")
    return n, tuple(reasons)


def _check_options(family: str, options: PlanOptions) -> str | None:
    if family not in FAMILIES:
        raise ConfigError(f"unknown engine family {family!r}", f"use one of {', '.join(FAMILIES)}")
    forced = options.force_device.lower() if options.force_device else None
    if forced is not None and forced not in DEVICES:
        raise ConfigError(
            f"device {options.force_device!r} is not a device", f"use one of {', '.join(DEVICES)}"
        )
    return forced


def _cpu_simd_reason(facts: Facts) -> str:
    f = facts.cpu_features
    if facts.arch == "arm64":
        if {"dotprod", "i8mm"} <= f:
            return "CPU has NEON with dotprod and i8mm: fast int8 matmul for Q4_0/Q8_0 weights"
        if "dotprod" in f:
            return "CPU has NEON with dotprod: int8 dot products speed up quantised weights"
        return "CPU has NEON but no dotprod: quantised models run, but slower than on newer cores"
    if "avx512" in f:
        return "CPU has AVX-512: the widest x86 SIMD kernels apply"
    if {"avx2", "fma"} <= f:
        return "CPU has AVX2 and FMA: fast SIMD kernels for quantised weights"
    if f:
        return f"CPU lacks AVX2 ({', '.join(sorted(f))} only): expect slow inference"
    return "CPU SIMD features unknown: expect CPU speed to vary"


def _forced_first(
    family: str,
    forced: str | None,
    auto: list[DevicePlan],
    make: Callable[[str], DevicePlan],
    cpu: DevicePlan,
) -> tuple[DevicePlan, ...]:
    """Apply a forced device to automatic candidates (`auto` excludes the CPU plan)."""
    if forced is None:
        return (*auto, cpu)
    if forced == "cpu":
        return (_with_reason(cpu, "CPU forced by configuration (ASSISTANT_DEVICE=cpu)", first=True),)
    if forced not in FAMILY_DEVICES[family]:
        note = f"ASSISTANT_DEVICE={forced} does not apply to {family} engines; planned automatically"
        return tuple(_with_reason(c, note, first=True) for c in (*auto, cpu))
    chosen = next((c for c in auto if c.device == forced), None)
    if chosen is not None:
        return (_with_reason(chosen, f"{forced} forced by configuration (ASSISTANT_DEVICE)", first=True), cpu)
    plan = make(forced)
    note = f"{forced} forced by configuration but not detected here: loading will likely fail over to CPU"
    return (_with_reason(plan, note, first=True), cpu)


def _with_reason(p: DevicePlan, reason: str, *, first: bool = False) -> DevicePlan:
    reasons = (reason, *p.reasons) if first else (*p.reasons, reason)
    return DevicePlan(p.device, p.n_gpu_layers, p.providers, p.compute_type, p.threads, reasons)


def _plan_gguf(facts: Facts, forced: str | None, threads: int, why_threads: tuple[str, ...]) -> EnginePlan:
    backends, offload = facts.llama_backends, facts.llama_gpu_offload
    built = ", ".join(backends)

    def gpu(device: str, reason: str) -> DevicePlan:
        return DevicePlan(device, -1, (), "default", threads, (reason, *why_threads))

    auto: list[DevicePlan] = []
    skipped: list[str] = []
    if "metal" in backends:
        if facts.arch != "arm64":
            skipped.append("Metal skipped on Intel Macs: llama.cpp's Metal path is slower than their CPUs")
        elif offload:
            chip = facts.soc or "Apple silicon"
            auto.append(
                gpu(
                    "metal",
                    f"Metal backend in llama.cpp on {chip}: offload all layers to the GPU, "
                    "which shares unified memory with the CPU",
                )
            )
        else:
            skipped.append("llama.cpp has Metal but reports no usable GPU")
    if "cuda" in backends:
        if offload:
            auto.append(
                gpu(
                    "cuda", "CUDA backend compiled into llama.cpp and an NVIDIA GPU found: offload all layers"
                )
            )
        else:
            skipped.append("llama.cpp has CUDA but reports no usable GPU (driver missing or no device)")
    if "vulkan" in backends:
        snapdragon = (facts.soc or "").startswith("Snapdragon")
        if offload and snapdragon:
            # Adreno's Vulkan driver runs llama.cpp shaders slower than the Oryon/Kryo CPU kernels.
            skipped.append(
                f"Vulkan skipped on {facts.soc}: the CPU kernels beat Adreno's Vulkan path; "
                "force it with ASSISTANT_DEVICE=vulkan"
            )
        elif offload:
            auto.append(
                gpu("vulkan", "Vulkan backend compiled into llama.cpp and a GPU found: offload all layers")
            )
        else:
            skipped.append("llama.cpp has Vulkan but reports no usable GPU")
    if backends == ("cpu",):
        skipped.append("llama.cpp was built for CPU only (no CUDA, Metal or Vulkan backend)")

    where = "CPU: all layers in RAM" + (
        f" if {', '.join(c.device for c in auto)} fails to load" if auto else ""
    )
    cpu_reasons = (*skipped, where, _cpu_simd_reason(facts))
    cpu = DevicePlan("cpu", 0, (), "default", threads, (*cpu_reasons, *why_threads))

    def make(device: str) -> DevicePlan:
        return gpu(device, f"llama.cpp backends here: {built}")

    return EnginePlan("gguf", _forced_first("gguf", forced, auto, make, cpu))


def _qnn_options(facts: Facts) -> tuple[dict[str, str], str]:
    lib = "QnnHtp.dll" if facts.os == "windows" else "libQnnHtp.so"
    b = facts.battery
    if b is None or b.plugged is not False:
        mode, why = "burst", "on mains power (or no battery): HTP in burst mode for the lowest latency"
    elif b.percent is not None and b.percent < LOW_BATTERY:
        mode, why = (
            "power_saver",
            f"on battery at {b.percent:.0f}%: HTP in power_saver mode to stretch the charge",
        )
    else:
        level = f" at {b.percent:.0f}%" if b.percent is not None else ""
        mode, why = (
            "balanced",
            f"on battery{level}: HTP in balanced mode instead of burst to spare the charge",
        )
    return {"backend_path": lib, "htp_performance_mode": mode}, why


def _plan_onnx(facts: Facts, forced: str | None, threads: int, why_threads: tuple[str, ...]) -> EnginePlan:
    available = set(facts.ort_providers)
    auto: list[DevicePlan] = []
    skipped: list[str] = []

    def ep(device: str, options: dict[str, str], *reasons: str) -> DevicePlan:
        providers = ((ORT_PROVIDER[device], options), CPU_EP)
        return DevicePlan(device, 0, providers, "default", threads, (*reasons, *why_threads))

    def qnn() -> DevicePlan:
        options, battery_why = _qnn_options(facts)
        chip = facts.soc or "a Qualcomm SoC"
        return ep(
            "qnn", options, f"QNNExecutionProvider available on {chip}: run on the Hexagon NPU", battery_why
        )

    def coreml() -> DevicePlan:
        b = facts.battery
        units, why = "ALL", "CoreML may use the Neural Engine, GPU and CPU"
        if b is not None and b.plugged is False:
            units, why = (
                "CPUAndNeuralEngine",
                "on battery: CoreML limited to the Neural Engine, which draws less than the GPU",
            )
        return ep("coreml", {"MLComputeUnits": units}, "CoreMLExecutionProvider available on macOS", why)

    if "QNNExecutionProvider" in available:
        if facts.arch == "arm64":
            auto.append(qnn())
        else:
            skipped.append(
                "QNNExecutionProvider present but this is not an ARM64 Snapdragon process; NPU unused"
            )
    if "CUDAExecutionProvider" in available:
        gpu_seen = facts.ct2_cuda_devices > 0 or ("cuda" in facts.llama_backends and facts.llama_gpu_offload)
        note = (
            "an NVIDIA GPU was found"
            if gpu_seen
            else "no other runtime confirmed a GPU, CPU takes over if absent"
        )
        auto.append(
            ep("cuda", {"device_id": "0"}, f"CUDAExecutionProvider available (onnxruntime-gpu); {note}")
        )
    if "CoreMLExecutionProvider" in available and facts.os == "darwin":
        auto.append(coreml())
    if "DmlExecutionProvider" in available and facts.os == "windows":
        auto.append(
            ep(
                "dml",
                {"device_id": "0"},
                "DmlExecutionProvider available: DirectML runs on any DirectX 12 GPU",
            )
        )
    if not auto:
        skipped.append(
            f"onnxruntime offers no accelerator here (providers: {', '.join(facts.ort_providers) or 'none'})"
        )

    cpu = DevicePlan(
        "cpu",
        0,
        (CPU_EP,),
        "default",
        threads,
        (*skipped, "CPUExecutionProvider: always available, the fallback", *why_threads),
    )

    def make(device: str) -> DevicePlan:
        if device == "qnn":
            return qnn()
        if device == "coreml":
            return coreml()
        return ep(
            device,
            {"device_id": "0"} if device in ("cuda", "dml") else {},
            f"{ORT_PROVIDER[device]} requested",
        )

    return EnginePlan("onnx", _forced_first("onnx", forced, auto, make, cpu))


def _plan_ct2(facts: Facts, forced: str | None, threads: int, why_threads: tuple[str, ...]) -> EnginePlan:
    def cuda(reason: str) -> DevicePlan:
        return DevicePlan(
            "cuda",
            0,
            (),
            "float16",
            threads,
            (reason, "float16 on the GPU: tensor cores, full accuracy for speech and translation"),
        )

    auto: list[DevicePlan] = []
    if facts.ct2_cuda_devices > 0:
        n = facts.ct2_cuda_devices
        auto.append(cuda(f"ctranslate2 sees {n} CUDA device{'s' if n != 1 else ''}"))
        missing: tuple[str, ...] = ()
    else:
        missing = ("ctranslate2 sees no CUDA device (CPU-only build or no NVIDIA GPU)",)
    cpu = DevicePlan(
        "cpu",
        0,
        (),
        "int8",
        threads,
        (
            *missing,
            "int8 on the CPU: quarter the memory of float32 and the fastest CPU path in ctranslate2",
            _cpu_simd_reason(facts),
            *why_threads,
        ),
    )
    return EnginePlan(
        "ctranslate2", _forced_first("ctranslate2", forced, auto, lambda d: cuda(f"{d} requested"), cpu)
    )


_PLANNERS = {"gguf": _plan_gguf, "onnx": _plan_onnx, "ctranslate2": _plan_ct2}


def plan(facts: Facts, family: str, options: PlanOptions = PlanOptions()) -> EnginePlan:
    """Return the ordered device candidates for one engine family; raise ConfigError on bad options."""
    forced = _check_options(family, options)
    threads, why_threads = plan_threads(facts, options)
    return _PLANNERS[family](facts, forced, threads, why_threads)


def plan_all(facts: Facts, options: PlanOptions = PlanOptions()) -> dict[str, EnginePlan]:
    """Return a plan for every engine family, keyed by family."""
    return {family: plan(facts, family, options) for family in FAMILIES}


__all__ = [
    "FAMILIES",
    "FAMILY_DEVICES",
    "DevicePlan",
    "EnginePlan",
    "PlanOptions",
    "plan",
    "plan_all",
    "plan_threads",
]
