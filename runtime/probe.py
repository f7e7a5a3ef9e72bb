"""Plain-data facts about this machine: OS, CPU, memory, battery and what the engines were built with.

`probe()` never raises: each sub-probe falls back to a safe default, because a doctor
command or a planner that crashes on an odd machine is worse than one that guesses low.
The parsing helpers are pure functions over text so tests can feed them samples.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Features the planner and doctor care about; everything else in /proc/cpuinfo is noise here.
CPU_FEATURES = ("avx", "avx2", "avx512", "fma", "f16c", "neon", "dotprod", "i8mm", "sve")
# arm64 kernels call NEON "asimd" (advanced SIMD); 32-bit ARM kernels say "neon".
# fmt: off
_FLAG_MAP = {"avx": "avx", "avx2": "avx2", "avx512f": "avx512", "fma": "fma", "f16c": "f16c", "neon": "neon",
             "asimd": "neon", "asimddp": "dotprod", "i8mm": "i8mm", "sve": "sve"}
_ARCH_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64", "arm64": "arm64",
                 "armv8l": "arm64", "i386": "x86", "i686": "x86", "x86": "x86"}
# fmt: on
_SUBPROCESS_TIMEOUT = 3.0
_CPU_ONLY: tuple[str, ...] = ("cpu",)
_CPU_EP_ONLY: tuple[str, ...] = ("CPUExecutionProvider",)


@dataclass(frozen=True)
class Battery:
    """Battery charge (0-100) and whether mains power is connected; None when unknown."""

    percent: float | None
    plugged: bool | None


@dataclass(frozen=True)
class Facts:
    """What the planner needs to know about the machine. Pure data, JSON-able via `to_dict`."""

    os: str  # "linux", "darwin", "windows", "android"
    arch: str  # "x86_64", "arm64", ...
    cpu_model: str
    cpu_features: frozenset[str]  # subset of CPU_FEATURES
    physical_cores: int  # cores this process may use, SMT siblings counted once
    logical_cores: int  # hardware threads this process may use
    ram_total: int  # bytes
    ram_available: int  # bytes
    battery: Battery | None  # None: no battery (desktop) or unreadable
    is_termux: bool
    soc: str | None  # "Apple M2", "Snapdragon X Elite", "Snapdragon 8 Gen 3", ...
    llama_gpu_offload: bool  # llama_cpp.llama_supports_gpu_offload()
    llama_backends: tuple[str, ...]  # subset of ("cuda", "metal", "vulkan") plus always "cpu"
    ort_providers: tuple[str, ...]  # onnxruntime.get_available_providers()
    ct2_cuda_devices: int  # ctranslate2.get_cuda_device_count(), 0 when unavailable

    def to_dict(self) -> dict[str, Any]:
        """Return the facts as JSON-able builtins (sets become sorted lists)."""
        d = asdict(self)
        d["cpu_features"] = sorted(self.cpu_features)
        d["llama_backends"] = list(self.llama_backends)
        d["ort_providers"] = list(self.ort_providers)
        return d


@dataclass(frozen=True)
class CpuInfo:
    """What `parse_cpuinfo` extracts from /proc/cpuinfo text."""

    model: str | None
    features: frozenset[str]
    physical_cores: int | None  # None when the kernel does not report topology (most ARM)
    hardware: str | None  # the ARM "Hardware" line, often the SoC name on Android


def normalise_arch(machine: str) -> str:
    """Return "x86_64", "arm64", "x86" or "arm" for a platform.machine() string."""
    m = machine.strip().lower()
    if m in _ARCH_ALIASES:
        return _ARCH_ALIASES[m]
    return "arm" if m.startswith("arm") else (m or "unknown")


def normalise_os(system: str, *, android: bool = False) -> str:
    """Return "linux", "darwin", "windows" or "android" for a platform.system() string."""
    s = system.strip().lower()
    if android or s == "android":
        return "android"
    if s.startswith(("win", "cygwin", "msys")):
        return "windows"
    return s or "unknown"


def is_termux_env(env: Mapping[str, str]) -> bool:
    """Return True when the environment is Termux's (its PREFIX or TERMUX_VERSION)."""
    return "com.termux" in env.get("PREFIX", "") or "TERMUX_VERSION" in env


def features_from_flags(flags: Iterable[str]) -> frozenset[str]:
    """Map kernel/sysctl flag names (avx512f, asimddp, ...) to CPU_FEATURES names."""
    return frozenset(_FLAG_MAP[f] for f in (x.lower() for x in flags) if f in _FLAG_MAP)


def parse_cpuinfo(text: str) -> CpuInfo:
    """Parse /proc/cpuinfo text (x86 or ARM) into a CpuInfo."""
    model: str | None = None
    hardware: str | None = None
    flags: set[str] = set()
    cores: set[tuple[str, str]] = set()
    phys_id = "0"
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "processor":
            phys_id = "0"
        elif key == "model name" and model is None and value:
            model = value
        elif key in ("flags", "features"):
            flags.update(value.split())
        elif key == "hardware" and value:
            hardware = value
        elif key == "physical id":
            phys_id = value
        elif key == "core id":
            cores.add((phys_id, value))
    return CpuInfo(model, features_from_flags(flags), len(cores) or None, hardware)


def total_ram() -> int:
    """Return physical memory in bytes, cheaply (no backend imports); 0 when unknown."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf: take the full probe
        return probe().ram_total


def parse_meminfo(text: str) -> tuple[int, int]:
    """Return (total, available) bytes from /proc/meminfo text; (0, 0) when missing."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"(\w+):\s+(\d+)\s*kB", line)
        if m:
            values[m.group(1)] = int(m.group(2)) * 1024
    total = values.get("MemTotal", 0)
    # Kernels before 3.14 lack MemAvailable; free + page cache is the old estimate.
    avail = values.get("MemAvailable", values.get("MemFree", 0) + values.get("Cached", 0))
    return total, min(avail, total) if total else avail


def parse_power_supplies(supplies: Mapping[str, Mapping[str, str]]) -> Battery | None:
    """Return the Battery from /sys/class/power_supply contents: {name: {file: text}}."""
    percent: float | None = None
    status: str | None = None
    online: bool | None = None
    found = False
    for files in supplies.values():
        kind = files.get("type", "").strip().lower()
        if kind == "battery":
            # Peripherals (mice, headsets) also report type Battery; only scope=Device marks them.
            if files.get("scope", "").strip().lower() == "device":
                continue
            found = True
            cap = files.get("capacity", "").strip()
            if cap.isdigit() and percent is None:
                percent = float(cap)
            status = status or files.get("status", "").strip().lower() or None
        elif kind in ("mains", "usb", "usb_c", "usb_pd", "wireless"):
            if files.get("online", "").strip() == "1":
                online = True
            elif online is None and files.get("online", "").strip() == "0":
                online = False
    if not found:
        return None
    # Adapter "online" is the truth; status is the fallback ("not charging" still means plugged).
    plugged = online if online is not None else (None if status is None else status != "discharging")
    return Battery(percent=percent, plugged=plugged)


def parse_pmset(text: str) -> Battery | None:
    """Parse `pmset -g batt` output; None when the Mac has no battery."""
    m = re.search(r"(\d+)%;\s*([\w ]+)", text)
    if not m:
        return None
    source = re.search(r"drawing from '([^']+)'", text)
    plugged = None if source is None else source.group(1) == "AC Power"
    return Battery(percent=float(m.group(1)), plugged=plugged)


def parse_vm_stat(text: str) -> int:
    """Return reclaimable bytes (free + inactive + speculative + purgeable) from macOS `vm_stat`."""
    page = re.search(r"page size of (\d+) bytes", text)
    size = int(page.group(1)) if page else 4096
    keys = ("free", "inactive", "speculative", "purgeable")
    return size * sum(int(m.group(1)) for k in keys if (m := re.search(rf"Pages {k}:\s+(\d+)", text)))


# Qualcomm part numbers as Android reports them (ro.soc.model, cpuinfo Hardware) and board codenames.
# fmt: off
_QCOM_PARTS = {
    "SM8750": "8 Elite", "SM8650": "8 Gen 3", "SM8635": "8s Gen 3", "SM8550": "8 Gen 2", "SM8475": "8+ Gen 1",
    "SM8450": "8 Gen 1", "SM8350": "888", "SM8250": "865", "SM7675": "7+ Gen 3", "SM7550": "7 Gen 3",
    "SM7475": "7+ Gen 2", "SM6450": "6 Gen 1", "SUN": "8 Elite", "PINEAPPLE": "8 Gen 3", "KALAMA": "8 Gen 2",
    "TARO": "8 Gen 1", "LAHAINA": "888", "KONA": "865", "X1E": "X Elite", "X1P": "X Plus",
}
# fmt: on


def soc_from_text(*texts: str | None) -> str | None:
    """Return a marketing SoC name found in CPU brand strings, part numbers or board names."""
    for raw in texts:
        if not raw:
            continue
        text = re.sub(r"\((?:R|TM)\)", "", raw).strip()
        m = re.search(r"\bApple (M\d+(?: Pro| Max| Ultra)?|A\d+(?: Pro| Bionic)?)\b", text)
        if m:
            return f"Apple {m.group(1)}"
        pattern = (
            r"\bSnapdragon\s+(X\s+Elite|X\s+Plus|X\d*|8cx\s+Gen\s+\d|\d+\w?\+?\s+(?:Gen\s+\d|Elite)|\d+)"
        )
        m = re.search(pattern, text)
        if m:
            return "Snapdragon " + re.sub(r"\s+", " ", m.group(1))
        upper = text.upper()
        # Board codenames ("pineapple") only count as the whole value, so words in brand strings can't match.
        if upper in _QCOM_PARTS:
            return "Snapdragon " + _QCOM_PARTS[upper]
        m = re.search(r"\b(SM\d{4}|X1[EP])", upper)
        if m and m.group(1) in _QCOM_PARTS:
            return "Snapdragon " + _QCOM_PARTS[m.group(1)]
    return None


def llama_backends_from_libs(
    names: Iterable[str], *, os_name: str, arch: str, offload: bool
) -> tuple[str, ...]:
    """Return llama.cpp backends ("cuda", "metal", "vulkan", then "cpu") from its shipped library names."""
    found: set[str] = set()
    for name in (n.lower() for n in names):
        if "ggml-cuda" in name or "ggml_cuda" in name or "cublas" in name or "cudart" in name:
            found.add("cuda")
        if "ggml-metal" in name or "ggml_metal" in name or name.endswith(".metallib"):
            found.add("metal")
        if "ggml-vulkan" in name or "ggml_vulkan" in name:
            found.add("vulkan")
    # Older wheels link Metal statically into libllama, so there is no file to see; on Apple
    # silicon offload can only mean Metal.
    if offload and not found and os_name == "darwin" and arch == "arm64":
        found.add("metal")
    return tuple(b for b in ("cuda", "metal", "vulkan") if b in found) + ("cpu",)


def _safe(fn: Callable[[], T], default: T) -> T:
    """Run one sub-probe; any failure gives the default, because probing must never crash."""
    try:
        return fn()
    except Exception:
        return default


def _read(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8", errors="replace")


def _run(*cmd: str) -> str | None:
    """Return a command's stdout, or None if it is missing, fails or hangs."""
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _usable_cpus() -> int:
    # Affinity (taskset, containers) limits what we may use; threads beyond it only contend.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _linux_sysfs_battery() -> Battery | None:
    supplies: dict[str, dict[str, str]] = {}
    root = Path("/sys/class/power_supply")
    if not root.is_dir():
        return None
    for entry in root.iterdir():
        files: dict[str, str] = {}
        for name in ("type", "scope", "capacity", "status", "online"):
            p = entry / name
            if p.is_file():
                files[name] = _safe(functools.partial(_read, p), "")
        supplies[entry.name] = files
    return parse_power_supplies(supplies)


def _termux_battery() -> Battery | None:
    # Android hides sysfs from apps; termux-api asks the system, but only if its app is installed.
    out = _run("termux-battery-status")
    if not out:
        return None
    data = json.loads(out)
    percent, plugged = data.get("percentage"), data.get("plugged")
    return Battery(
        None if percent is None else float(percent), None if plugged is None else plugged != "UNPLUGGED"
    )


def _android_soc(cpu: CpuInfo) -> str | None:
    model = _run("getprop", "ro.soc.model")  # Android 12+; older phones only have the board codename
    known = soc_from_text(
        model, cpu.hardware, _run("getprop", "ro.board.platform"), _run("getprop", "ro.hardware")
    )
    if known or not model:
        return known
    # An unmapped part (MediaTek, Exynos, Tensor) is still worth showing as the vendor reports it.
    return f"{_run('getprop', 'ro.soc.manufacturer') or ''} {model}".strip()


def _linux(facts: dict[str, Any], android: bool, termux: bool) -> None:
    cpu = _safe(lambda: parse_cpuinfo(_read("/proc/cpuinfo")), CpuInfo(None, frozenset(), None, None))
    dt_model = _safe(lambda: _read("/proc/device-tree/model").strip("\x00 \n"), None)
    dt_compat = _safe(lambda: _read("/proc/device-tree/compatible").replace("\x00", " "), None)
    facts["cpu_model"] = cpu.model or cpu.hardware or dt_model or platform.processor() or facts["arch"]
    facts["cpu_features"] = cpu.features
    if cpu.physical_cores:
        facts["physical_cores"] = cpu.physical_cores
    total, avail = _safe(lambda: parse_meminfo(_read("/proc/meminfo")), (0, 0))
    if total:
        facts["ram_total"], facts["ram_available"] = total, avail
    facts["battery"] = _safe(_linux_sysfs_battery, None) or (_safe(_termux_battery, None) if termux else None)
    if android:
        facts["soc"] = _safe(lambda: _android_soc(cpu), None)
    else:
        facts["soc"] = soc_from_text(cpu.model, cpu.hardware, dt_model, dt_compat)


def _darwin(facts: dict[str, Any]) -> None:
    brand = _run("sysctl", "-n", "machdep.cpu.brand_string")
    facts["cpu_model"] = brand or platform.processor() or facts["arch"]
    facts["soc"] = soc_from_text(brand)
    if facts["arch"] == "arm64":
        optional = {"dotprod": "FEAT_DotProd", "i8mm": "FEAT_I8MM"}
        feats = {f for f, key in optional.items() if _run("sysctl", "-n", f"hw.optional.arm.{key}") == "1"}
        facts["cpu_features"] = frozenset({"neon", *feats})  # every Apple silicon core has NEON
    else:
        keys = ("machdep.cpu.features", "machdep.cpu.leaf7_features")  # leaf 7 holds AVX2 and AVX-512
        flags = " ".join(_run("sysctl", "-n", k) or "" for k in keys)
        facts["cpu_features"] = features_from_flags(flags.replace("AVX1.0", "AVX").split())
    physical = _run("sysctl", "-n", "hw.physicalcpu")
    if physical and physical.isdigit():
        facts["physical_cores"] = int(physical)
    mem = _run("sysctl", "-n", "hw.memsize")
    if mem and mem.isdigit():
        facts["ram_total"] = int(mem)
        vm = _run("vm_stat")
        facts["ram_available"] = min(parse_vm_stat(vm), int(mem)) if vm else int(mem)
    batt = _run("pmset", "-g", "batt")
    facts["battery"] = parse_pmset(batt) if batt else None


class _MemoryStatusEx(ctypes.Structure):  # MEMORYSTATUSEX
    _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong)] + [
        (n, ctypes.c_ulonglong) for n in ("total", "avail", "tpage", "apage", "tvirt", "avirt", "aext")
    ]


class _PowerStatus(ctypes.Structure):  # SYSTEM_POWER_STATUS
    _fields_ = [(n, ctypes.c_ubyte) for n in ("ac", "flag", "percent", "saver")] + [
        (n, ctypes.c_ulong) for n in ("life", "full")
    ]


def _windows(facts: dict[str, Any]) -> None:
    def brand() -> str:
        winreg: Any = importlib.import_module("winreg")  # Any: its stubs exist only for win32
        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0")
        return str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip()

    name = _safe(brand, "") or platform.processor()
    facts["cpu_model"], facts["soc"] = name or facts["arch"], soc_from_text(name)
    k32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    # PF_* constants of IsProcessorFeaturePresent (winnt.h).
    pf = {"avx": 39, "avx2": 40, "avx512": 41} if facts["arch"] == "x86_64" else {"dotprod": 43}
    feats = {f for f, code in pf.items() if _safe(functools.partial(k32.IsProcessorFeaturePresent, code), 0)}
    if facts["arch"] == "arm64":
        feats.add("neon")
    elif "avx2" in feats:
        feats.update({"fma", "f16c"})  # every AVX2 CPU shipped has FMA3 and F16C
    facts["cpu_features"] = frozenset(feats)
    mem = _MemoryStatusEx()
    mem.length = ctypes.sizeof(_MemoryStatusEx)
    if _safe(lambda: k32.GlobalMemoryStatusEx(ctypes.byref(mem)), 0):
        facts["ram_total"], facts["ram_available"] = int(mem.total), int(mem.avail)
    st = _PowerStatus()
    if _safe(lambda: k32.GetSystemPowerStatus(ctypes.byref(st)), 0) and st.flag != 128:  # 128: no battery
        facts["battery"] = Battery(
            percent=None if st.percent == 255 else float(st.percent),
            plugged=None if st.ac == 255 else st.ac == 1,
        )
    facts["physical_cores"] = _safe(lambda: _windows_physical_cores(k32), facts["physical_cores"])


def _windows_physical_cores(k32: Any) -> int:
    # GetLogicalProcessorInformationEx(RelationProcessorCore) returns one variable-size record per core.
    size = ctypes.c_ulong(0)
    k32.GetLogicalProcessorInformationEx(0, None, ctypes.byref(size))
    buf = ctypes.create_string_buffer(size.value)
    if not k32.GetLogicalProcessorInformationEx(0, buf, ctypes.byref(size)):
        raise OSError("GetLogicalProcessorInformationEx failed")
    count, offset = 0, 0
    while offset + 8 <= size.value:
        record = int.from_bytes(buf.raw[offset + 4 : offset + 8], "little")
        if record <= 0:
            break
        count, offset = count + 1, offset + record
    return count


def _llama() -> tuple[bool, tuple[str, ...]]:
    """Return (gpu offload, backends) for llama_cpp, or (False, ("cpu",)) when it is unusable."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return False, ("cpu",)
    try:
        import llama_cpp  # type: ignore[import-not-found,import-untyped,unused-ignore]

        offload = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:  # a half-built or ABI-mismatched wheel raises all sorts of things
        offload = False
    names: list[str] = []
    for loc in spec.submodule_search_locations:
        for d in (Path(loc), Path(loc) / "lib"):
            if d.is_dir():
                names.extend(p.name for p in d.iterdir())
    os_name = normalise_os(platform.system())
    return offload, llama_backends_from_libs(
        names, os_name=os_name, arch=normalise_arch(platform.machine()), offload=offload
    )


def _ort_providers() -> tuple[str, ...]:
    import onnxruntime  # type: ignore[import-untyped,unused-ignore]

    return tuple(onnxruntime.get_available_providers())


def _ct2_cuda_devices() -> int:
    import ctranslate2  # type: ignore[import-not-found,import-untyped,unused-ignore]

    return int(ctranslate2.get_cuda_device_count())


def _probe_now() -> Facts:
    termux = is_termux_env(os.environ)
    android = termux or hasattr(sys, "getandroidapilevel") or "ANDROID_ROOT" in os.environ
    logical = max(1, _safe(_usable_cpus, 1))
    system, arch = normalise_os(platform.system(), android=android), normalise_arch(platform.machine())
    facts: dict[str, Any] = {"arch": arch, "cpu_model": "unknown", "cpu_features": frozenset(), "soc": None}
    facts.update(physical_cores=logical, ram_total=0, ram_available=0, battery=None)
    if system in ("linux", "android"):
        _safe(lambda: _linux(facts, android, termux), None)
    elif system in ("darwin", "windows"):
        _safe(lambda: (_darwin if system == "darwin" else _windows)(facts), None)
    offload, backends = _safe(_llama, (False, _CPU_ONLY))
    facts.update(os=system, logical_cores=logical, is_termux=termux, llama_gpu_offload=offload)
    facts["physical_cores"] = max(1, min(int(facts["physical_cores"]), logical))
    facts["llama_backends"] = backends
    facts["ort_providers"] = _safe(_ort_providers, _CPU_EP_ONLY)
    facts["ct2_cuda_devices"] = _safe(_ct2_cuda_devices, 0)
    return Facts(**facts)


@functools.lru_cache(maxsize=1)
def _probe_cached() -> Facts:
    return _probe_now()


def probe(cached: bool = True) -> Facts:
    """Return facts about this machine; cached after the first call unless `cached=False`."""
    return _probe_cached() if cached else _probe_now()


# fmt: off
__all__ = [
    "CPU_FEATURES", "Battery", "CpuInfo", "Facts", "features_from_flags",
    "is_termux_env", "llama_backends_from_libs", "normalise_arch", "normalise_os", "parse_cpuinfo",
    "parse_meminfo", "parse_pmset", "parse_power_supplies", "parse_vm_stat", "probe",
    "soc_from_text",
]
# fmt: on
