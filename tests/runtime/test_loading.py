"""Device fallback: a load that fails on the planned accelerator drops to the next candidate."""

from __future__ import annotations

import pytest

from runtime.errors import LoadError
from runtime.loading import load_with_fallback
from runtime.planner import DevicePlan, EnginePlan


def _plan(*devices: str) -> EnginePlan:
    return EnginePlan(
        family="onnx",
        candidates=tuple(
            DevicePlan(
                device=d,
                n_gpu_layers=0,
                providers=(),
                compute_type="default",
                threads=2,
                reasons=(f"{d} planned for the test",),
            )
            for d in devices
        ),
    )


def test_falls_back_and_records_why() -> None:
    tried: list[str] = []

    def attempt(c: DevicePlan) -> str:
        tried.append(c.device)
        if c.device == "qnn":
            raise RuntimeError("QNN backend library libQnnHtp.so not found")
        return f"session on {c.device}"

    obj, rep = load_with_fallback("m", _plan("qnn", "cpu"), attempt, lambda _: 123)
    assert obj == "session on cpu" and tried == ["qnn", "cpu"]
    assert rep.device == "cpu" and rep.fell_back and rep.memory_bytes == 123
    assert [a.ok for a in rep.attempts] == [False, True]
    assert "libQnnHtp.so" in (rep.attempts[0].error or "")
    assert any("fell back to cpu" in r and "qnn" in r for r in rep.reasons)


def test_no_fallback_when_first_device_works() -> None:
    _, rep = load_with_fallback("m", _plan("cuda", "cpu"), lambda c: c.device)
    assert rep.device == "cuda" and not rep.fell_back


def test_all_devices_failing_is_one_clear_error() -> None:
    def attempt(c: DevicePlan) -> str:
        raise OSError(f"{c.device} exploded")

    with pytest.raises(LoadError) as ei:
        load_with_fallback("m", _plan("coreml", "cpu"), attempt)
    msg = str(ei.value)
    assert "coreml exploded" in msg and "cpu exploded" in msg and "assistant models verify m" in msg


def test_real_gguf_fallback_from_an_unavailable_gpu(real_runtime) -> None:  # type: ignore[no-untyped-def]
    """A real llama.cpp load forced onto CUDA: this CPU-only build cannot offload, the CUDA attempt
    fails, and the engine lands on the CPU with the failure in its report."""
    from runtime.engines.llama_cpp import LlamaEngine, LlamaLoadOptions
    from runtime.planner import PlanOptions, plan

    facts = real_runtime.facts
    if facts.llama_gpu_offload:
        pytest.skip("this llama.cpp build can offload to a GPU")
    forced = plan(facts, "gguf", PlanOptions(force_device="cuda"))
    assert forced.candidates[0].device == "cuda" and forced.candidates[-1].device == "cpu"
    model = real_runtime.store.ensure("smollm2-135m")
    eng = LlamaEngine.load("smollm2-135m", model.path, forced, LlamaLoadOptions(n_ctx=512))
    try:
        assert eng.report.device == "cpu" and eng.report.fell_back
        assert "no GPU offload" in (eng.report.attempts[0].error or "")
    finally:
        eng.close()
