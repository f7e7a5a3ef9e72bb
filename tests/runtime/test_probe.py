"""probe() on this machine, and the pure parsers on sample text from other machines."""

from __future__ import annotations

import json
import sys

import pytest

from runtime.probe import (
    CPU_FEATURES,
    Battery,
    Facts,
    features_from_flags,
    is_termux_env,
    llama_backends_from_libs,
    normalise_arch,
    normalise_os,
    parse_cpuinfo,
    parse_meminfo,
    parse_pmset,
    parse_power_supplies,
    parse_vm_stat,
    probe,
    soc_from_text,
)

X86_CPUINFO = """\
processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz
physical id	: 0
core id		: 0
flags		: fpu sse sse2 avx avx2 fma f16c avx512f avx512bw avx512_vnni

processor	: 1
model name	: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz
physical id	: 0
core id		: 0
flags		: fpu sse sse2 avx avx2 fma f16c avx512f avx512bw avx512_vnni

processor	: 2
model name	: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz
physical id	: 1
core id		: 0
flags		: fpu sse sse2 avx avx2 fma f16c avx512f avx512bw avx512_vnni

processor	: 3
model name	: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz
physical id	: 1
core id		: 1
flags		: fpu sse sse2 avx avx2 fma f16c avx512f avx512bw avx512_vnni
"""

ANDROID_CPUINFO = """\
processor	: 0
BogoMIPS	: 38.40
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp asimddp i8mm sve sve2
CPU implementer	: 0x41
CPU part	: 0xd80

processor	: 1
BogoMIPS	: 38.40
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp asimddp i8mm sve sve2
CPU implementer	: 0x41
CPU part	: 0xd81

Hardware	: Qualcomm Technologies, Inc SM8650
"""

MEMINFO = """\
MemTotal:       16303428 kB
MemFree:         1024000 kB
MemAvailable:    8151714 kB
Buffers:          204800 kB
Cached:          4096000 kB
"""


def test_probe_on_this_machine_is_sane() -> None:
    f = probe(cached=False)
    assert isinstance(f, Facts)
    if sys.platform.startswith("linux"):
        assert f.os in ("linux", "android")
    assert f.arch in ("x86_64", "arm64")
    assert f.ram_total > 1024**3
    assert 0 < f.ram_available <= f.ram_total
    assert f.logical_cores >= 1 and 1 <= f.physical_cores <= f.logical_cores
    assert f.cpu_model
    assert f.cpu_features <= set(CPU_FEATURES)
    assert "CPUExecutionProvider" in f.ort_providers
    assert f.llama_backends[-1] == "cpu"
    assert set(f.llama_backends) <= {"cuda", "metal", "vulkan", "cpu"}
    assert f.ct2_cuda_devices >= 0
    assert json.loads(json.dumps(f.to_dict()))["os"] == f.os


def test_probe_is_cached_unless_asked() -> None:
    assert probe() is probe()
    assert probe(cached=False) == probe(cached=False)


def test_to_dict_is_plain_json() -> None:
    f = probe()
    d = f.to_dict()
    assert d["cpu_features"] == sorted(f.cpu_features)
    assert isinstance(d["llama_backends"], list) and isinstance(d["ort_providers"], list)
    json.dumps(d)


def test_parse_x86_cpuinfo() -> None:
    info = parse_cpuinfo(X86_CPUINFO)
    assert info.model == "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"
    assert info.features == {"avx", "avx2", "avx512", "fma", "f16c"}
    # (socket 0, core 0) twice is one SMT core; core 0 on socket 1 is a different core
    assert info.physical_cores == 3
    assert info.hardware is None


def test_parse_android_cpuinfo() -> None:
    info = parse_cpuinfo(ANDROID_CPUINFO)
    assert info.model is None
    assert info.features == {"neon", "dotprod", "i8mm", "sve"}
    assert info.physical_cores is None, "ARM kernels report no topology; the probe falls back"
    assert info.hardware == "Qualcomm Technologies, Inc SM8650"
    assert soc_from_text(info.hardware) == "Snapdragon 8 Gen 3"


def test_parse_cpuinfo_garbage_is_empty_not_an_error() -> None:
    info = parse_cpuinfo("nonsense\n\n:::\n")
    assert info.model is None and info.features == frozenset() and info.physical_cores is None


def test_parse_meminfo() -> None:
    assert parse_meminfo(MEMINFO) == (16303428 * 1024, 8151714 * 1024)
    old_kernel = "MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 300 kB\n"
    assert parse_meminfo(old_kernel) == (1000 * 1024, 400 * 1024)
    assert parse_meminfo("") == (0, 0)


def test_features_from_flags() -> None:
    assert features_from_flags(["AVX512F", "sse4_2", "neon"]) == {"avx512", "neon"}


@pytest.mark.parametrize(
    ("machine", "arch"),
    [("x86_64", "x86_64"), ("AMD64", "x86_64"), ("aarch64", "arm64"), ("ARM64", "arm64"), ("armv7l", "arm")],
)
def test_normalise_arch(machine: str, arch: str) -> None:
    assert normalise_arch(machine) == arch


def test_normalise_os() -> None:
    assert normalise_os("Linux") == "linux"
    assert normalise_os("Darwin") == "darwin"
    assert normalise_os("Windows") == "windows"
    assert normalise_os("Linux", android=True) == "android"


def test_termux_env() -> None:
    assert is_termux_env({"PREFIX": "/data/data/com.termux/files/usr"})
    assert is_termux_env({"TERMUX_VERSION": "0.118.0"})
    assert not is_termux_env({"PREFIX": "/usr/local"})


def test_power_supplies() -> None:
    laptop = {
        "BAT0": {"type": "Battery\n", "capacity": "42\n", "status": "Discharging\n"},
        "AC": {"type": "Mains\n", "online": "0\n"},
        "hid-mouse": {"type": "Battery", "scope": "Device", "capacity": "5", "status": "Discharging"},
    }
    assert parse_power_supplies(laptop) == Battery(percent=42.0, plugged=False)
    laptop["AC"]["online"] = "1"
    assert parse_power_supplies(laptop) == Battery(percent=42.0, plugged=True)
    # no adapter node: fall back to the battery status ("Not charging" is still on mains)
    assert parse_power_supplies(
        {"battery": {"type": "Battery", "capacity": "80", "status": "Not charging"}}
    ) == (Battery(80.0, True))
    assert parse_power_supplies({"AC": {"type": "Mains", "online": "1"}}) is None  # desktop


def test_pmset_and_vm_stat() -> None:
    on_battery = (
        "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=1234)\t73%; discharging; 4:10 remaining"
    )
    assert parse_pmset(on_battery) == Battery(73.0, False)
    on_ac = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=1234)\t100%; charged; 0:00 remaining"
    assert parse_pmset(on_ac) == Battery(100.0, True)
    assert parse_pmset("Now drawing from 'AC Power'\n") is None  # Mac mini
    vm = (
        "Mach Virtual Memory Statistics: (page size of 16384 bytes)\n"
        "Pages free:                               10.\nPages active:  99.\n"
        "Pages inactive:                           20.\nPages speculative: 3.\nPages purgeable: 1.\n"
    )
    assert parse_vm_stat(vm) == 34 * 16384


@pytest.mark.parametrize(
    ("texts", "soc"),
    [
        (("Apple M2 Pro",), "Apple M2 Pro"),
        (("Apple M1",), "Apple M1"),
        (("Snapdragon(R) X Elite - X1E78100 - Qualcomm(R) Oryon(TM) CPU",), "Snapdragon X Elite"),
        (("Snapdragon(R) X Plus - X1P64100 - Qualcomm(R) Oryon(TM) CPU",), "Snapdragon X Plus"),
        (("Snapdragon (TM) 8cx Gen 3 @ 3.0 GHz",), "Snapdragon 8cx Gen 3"),
        ((None, "SM8550"), "Snapdragon 8 Gen 2"),
        (("pineapple",), "Snapdragon 8 Gen 3"),
        (("qcom,x1e80100-crd qcom,x1e80100",), "Snapdragon X Elite"),
        (("AMD Ryzen 9 7950X 16-Core Processor", "Intel(R) Core(TM) i7-8650U"), None),
        ((None, ""), None),
    ],
)
def test_soc_from_text(texts: tuple[str | None, ...], soc: str | None) -> None:
    assert soc_from_text(*texts) == soc


def test_llama_backends_from_libs() -> None:
    def backends(
        names: list[str], os_name: str = "linux", arch: str = "x86_64", offload: bool = False
    ) -> tuple[str, ...]:
        return llama_backends_from_libs(names, os_name=os_name, arch=arch, offload=offload)

    assert backends(["libllama.so", "libggml-base.so", "libggml-cpu.so"]) == ("cpu",)
    assert backends(["libllama.so", "libggml-cuda.so", "libggml-cpu.so"], offload=True) == ("cuda", "cpu")
    assert backends(["ggml-vulkan.dll", "llama.dll"], os_name="windows") == ("vulkan", "cpu")
    assert backends(["libggml-metal.dylib"], os_name="darwin", arch="arm64") == ("metal", "cpu")
    # Metal linked statically into libllama: offload on Apple silicon can only be Metal
    assert backends(["libllama.dylib"], os_name="darwin", arch="arm64", offload=True) == ("metal", "cpu")
