"""The planner on typical machines, described as Facts: no probing, no mocks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runtime.config import DEVICES
from runtime.errors import ConfigError
from runtime.planner import FAMILIES, EnginePlan, PlanOptions, plan, plan_all
from runtime.probe import Battery, Facts

GiB = 1024**3

PLAIN_CPU = Facts(
    os="linux",
    arch="x86_64",
    cpu_model="Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz",
    cpu_features=frozenset({"avx", "avx2", "fma", "f16c"}),
    physical_cores=4,
    logical_cores=8,
    ram_total=16 * GiB,
    ram_available=10 * GiB,
    battery=None,
    is_termux=False,
    soc=None,
    llama_gpu_offload=False,
    llama_backends=("cpu",),
    ort_providers=("CPUExecutionProvider",),
    ct2_cuda_devices=0,
)
MAC_M2 = replace(
    PLAIN_CPU,
    os="darwin",
    arch="arm64",
    cpu_model="Apple M2 Pro",
    cpu_features=frozenset({"neon", "dotprod", "i8mm"}),
    physical_cores=12,
    logical_cores=12,
    battery=Battery(percent=80.0, plugged=True),
    soc="Apple M2 Pro",
    llama_gpu_offload=True,
    llama_backends=("metal", "cpu"),
    ort_providers=("CoreMLExecutionProvider", "CPUExecutionProvider"),
)
X_ELITE = replace(
    PLAIN_CPU,
    os="windows",
    arch="arm64",
    cpu_model="Snapdragon(R) X Elite - X1E78100 - Qualcomm(R) Oryon(TM) CPU",
    cpu_features=frozenset({"neon", "dotprod", "i8mm"}),
    physical_cores=12,
    logical_cores=12,
    ram_total=32 * GiB,
    battery=Battery(percent=90.0, plugged=True),
    soc="Snapdragon X Elite",
    ort_providers=("QNNExecutionProvider", "CPUExecutionProvider"),
)
PHONE = replace(
    PLAIN_CPU,
    os="android",
    arch="arm64",
    cpu_model="Qualcomm Technologies, Inc SM8650",
    cpu_features=frozenset({"neon", "dotprod", "i8mm", "sve"}),
    physical_cores=8,
    logical_cores=8,
    ram_total=12 * GiB,
    battery=Battery(percent=60.0, plugged=False),
    is_termux=True,
    soc="Snapdragon 8 Gen 3",
)
CUDA_BOX = replace(
    PLAIN_CPU,
    cpu_model="AMD Ryzen 9 7950X 16-Core Processor",
    cpu_features=frozenset({"avx", "avx2", "avx512", "fma", "f16c"}),
    physical_cores=16,
    logical_cores=32,
    ram_total=64 * GiB,
    llama_gpu_offload=True,
    llama_backends=("cuda", "cpu"),
    ort_providers=("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
    ct2_cuda_devices=1,
)
MACHINES = {"plain": PLAIN_CPU, "mac": MAC_M2, "x_elite": X_ELITE, "phone": PHONE, "cuda": CUDA_BOX}


def text(p: EnginePlan) -> str:
    return "\n".join(r for c in p.candidates for r in c.reasons).lower()


@pytest.mark.parametrize("name", MACHINES)
@pytest.mark.parametrize("force", [None, *DEVICES])
def test_invariants_on_every_machine_and_forced_device(name: str, force: str | None) -> None:
    plans = plan_all(MACHINES[name], PlanOptions(force_device=force))
    assert set(plans) == set(FAMILIES)
    for family, p in plans.items():
        assert p.family == family
        assert p.candidates and p.primary is p.candidates[0]
        assert p.candidates[-1].device == "cpu", "the fallback is always CPU"
        assert [c.device for c in p.candidates].count("cpu") == 1
        for c in p.candidates:
            assert c.device in DEVICES
            assert c.reasons and all(r.strip() for r in c.reasons)
            assert c.threads >= 1
            if family == "onnx":
                assert c.providers[-1] == ("CPUExecutionProvider", {})
            else:
                assert c.providers == ()
            if family != "ctranslate2":
                assert c.compute_type == "default"


def test_apple_silicon_uses_metal_and_coreml() -> None:
    plans = plan_all(MAC_M2)
    gguf, onnx, ct2 = plans["gguf"], plans["onnx"], plans["ctranslate2"]
    assert [c.device for c in gguf.candidates] == ["metal", "cpu"]
    assert gguf.primary.n_gpu_layers == -1 and gguf.candidates[-1].n_gpu_layers == 0
    assert "metal" in gguf.primary.reasons[0].lower() and "Apple M2 Pro" in gguf.primary.reasons[0]
    assert onnx.primary.device == "coreml"
    assert onnx.primary.providers[0] == ("CoreMLExecutionProvider", {"MLComputeUnits": "ALL"})
    assert [c.device for c in ct2.candidates] == ["cpu"] and ct2.primary.compute_type == "int8"
    assert gguf.primary.threads == 12


def test_apple_silicon_on_battery_keeps_coreml_off_the_gpu() -> None:
    onnx = plan(replace(MAC_M2, battery=Battery(50.0, plugged=False)), "onnx")
    assert onnx.primary.providers[0][1]["MLComputeUnits"] == "CPUAndNeuralEngine"
    assert any("battery" in r for r in onnx.primary.reasons)


def test_snapdragon_x_elite_puts_qnn_first_with_cpu_fallback() -> None:
    onnx = plan(X_ELITE, "onnx")
    assert [c.device for c in onnx.candidates] == ["qnn", "cpu"]
    name, opts = onnx.primary.providers[0]
    assert name == "QNNExecutionProvider"
    assert opts == {"backend_path": "QnnHtp.dll", "htp_performance_mode": "burst"}
    assert "Snapdragon X Elite" in onnx.primary.reasons[0] and "npu" in onnx.primary.reasons[0].lower()
    assert onnx.candidates[-1].providers == (("CPUExecutionProvider", {}),)
    # llama.cpp without a GPU backend: CPU with the ARM int8 extensions named as the reason
    gguf = plan(X_ELITE, "gguf")
    assert gguf.primary.device == "cpu" and "i8mm" in text(gguf)


@pytest.mark.parametrize(
    ("battery", "mode", "threads"),
    [
        (Battery(90.0, plugged=True), "burst", 12),
        (None, "burst", 12),
        (Battery(60.0, plugged=False), "balanced", 12),
        (Battery(15.0, plugged=False), "power_saver", 6),
        (Battery(15.0, plugged=True), "burst", 12),
    ],
)
def test_battery_lowers_htp_mode_and_threads(battery: Battery | None, mode: str, threads: int) -> None:
    onnx = plan(replace(X_ELITE, battery=battery), "onnx")
    assert onnx.primary.providers[0][1]["htp_performance_mode"] == mode
    assert onnx.primary.threads == threads
    if mode != "burst":
        assert any("battery" in r and mode in r for r in onnx.primary.reasons)
    if threads == 6:
        assert any("halved" in r and "15%" in r for r in onnx.primary.reasons)


def test_qnn_on_android_uses_the_shared_library() -> None:
    phone = replace(PHONE, ort_providers=("QNNExecutionProvider", "CPUExecutionProvider"))
    opts = plan(phone, "onnx").primary.providers[0][1]
    assert opts["backend_path"] == "libQnnHtp.so" and opts["htp_performance_mode"] == "balanced"


def test_termux_phone_runs_on_cpu_with_a_thread_cap() -> None:
    plans = plan_all(PHONE)
    for p in plans.values():
        assert [c.device for c in p.candidates] == ["cpu"]
        assert p.primary.threads == 4
        assert any("big and little" in r for r in p.primary.reasons)
    assert "dotprod" in text(plans["gguf"]) and "i8mm" in text(plans["gguf"])


def test_phone_thread_cap_then_low_battery_halves() -> None:
    p = plan(replace(PHONE, battery=Battery(10.0, plugged=False)), "gguf")
    assert p.primary.threads == 2


def test_cuda_linux_box() -> None:
    plans = plan_all(CUDA_BOX)
    gguf, onnx, ct2 = plans["gguf"], plans["onnx"], plans["ctranslate2"]
    assert [c.device for c in gguf.candidates] == ["cuda", "cpu"]
    assert gguf.primary.n_gpu_layers == -1
    assert "CUDA backend compiled into llama.cpp" in gguf.primary.reasons[0]
    assert [c.device for c in onnx.candidates] == ["cuda", "cpu"]
    assert onnx.primary.providers == (
        ("CUDAExecutionProvider", {"device_id": "0"}),
        ("CPUExecutionProvider", {}),
    )
    assert "nvidia gpu was found" in onnx.primary.reasons[0].lower()
    assert [c.device for c in ct2.candidates] == ["cuda", "cpu"]
    assert ct2.primary.compute_type == "float16" and ct2.candidates[-1].compute_type == "int8"
    # SMT: one thread per physical core, and the reason says why
    assert gguf.primary.threads == 16 and "smt" in gguf.primary.reasons[-1].lower()
    assert "avx-512" in text(gguf)


def test_cuda_built_but_no_gpu_stays_on_cpu_and_says_why() -> None:
    gguf = plan(replace(CUDA_BOX, llama_gpu_offload=False), "gguf")
    assert [c.device for c in gguf.candidates] == ["cpu"]
    assert "no usable gpu" in text(gguf)


def test_plain_cpu_everywhere_with_missing_accelerators_named() -> None:
    plans = plan_all(PLAIN_CPU)
    for p in plans.values():
        assert [c.device for c in p.candidates] == ["cpu"]
        assert p.primary.threads == 4
    assert "cpu only" in text(plans["gguf"])
    assert "no accelerator" in text(plans["onnx"])
    assert "no cuda device" in text(plans["ctranslate2"])
    assert plans["ctranslate2"].primary.compute_type == "int8"
    assert plans["gguf"].primary.n_gpu_layers == 0


def test_vulkan_is_skipped_on_snapdragon_but_used_elsewhere() -> None:
    laptop = plan(replace(X_ELITE, llama_gpu_offload=True, llama_backends=("vulkan", "cpu")), "gguf")
    assert laptop.primary.device == "cpu" and "vulkan skipped" in text(laptop)
    desktop = plan(replace(PLAIN_CPU, llama_gpu_offload=True, llama_backends=("vulkan", "cpu")), "gguf")
    assert [c.device for c in desktop.candidates] == ["vulkan", "cpu"]


def test_forcing_cpu_gives_only_the_cpu_candidate() -> None:
    for p in plan_all(CUDA_BOX, PlanOptions(force_device="cpu")).values():
        assert [c.device for c in p.candidates] == ["cpu"]
        assert "forced" in p.primary.reasons[0]


def test_forcing_an_available_device_drops_other_accelerators() -> None:
    both = replace(CUDA_BOX, llama_backends=("cuda", "vulkan", "cpu"))
    assert [c.device for c in plan(both, "gguf").candidates] == ["cuda", "vulkan", "cpu"]
    forced = plan(both, "gguf", PlanOptions(force_device="vulkan"))
    assert [c.device for c in forced.candidates] == ["vulkan", "cpu"]
    assert "forced" in forced.primary.reasons[0]


def test_forcing_a_missing_device_keeps_it_first_with_cpu_fallback() -> None:
    p = plan(PLAIN_CPU, "gguf", PlanOptions(force_device="CUDA"))
    assert [c.device for c in p.candidates] == ["cuda", "cpu"]
    assert p.primary.n_gpu_layers == -1
    assert "not detected" in p.primary.reasons[0]
    q = plan(PLAIN_CPU, "onnx", PlanOptions(force_device="qnn"))
    assert q.primary.providers[0][0] == "QNNExecutionProvider" and "not detected" in q.primary.reasons[0]


def test_forcing_a_device_another_family_cannot_use_plans_automatically() -> None:
    p = plan(MAC_M2, "gguf", PlanOptions(force_device="qnn"))
    assert [c.device for c in p.candidates] == ["metal", "cpu"]
    assert "does not apply to gguf" in p.primary.reasons[0]


def test_threads_override_wins_over_caps() -> None:
    p = plan(PHONE, "gguf", PlanOptions(threads=6))
    assert p.primary.threads == 6 and "configured" in p.primary.reasons[-1]
    assert plan(PLAIN_CPU, "onnx", PlanOptions(threads=0)).primary.threads == 1


def test_bad_family_or_device_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown engine family"):
        plan(PLAIN_CPU, "tflite")
    with pytest.raises(ConfigError, match="not a device") as err:
        plan(PLAIN_CPU, "gguf", PlanOptions(force_device="tpu"))
    assert err.value.fix and "cuda" in err.value.fix


def test_plans_are_json_able() -> None:
    import json

    for p in plan_all(X_ELITE).values():
        d = json.loads(json.dumps(p.to_dict()))
        assert d["family"] == p.family and d["candidates"][-1]["device"] == "cpu"
