"""Per-role model choice: the plan on injected device calibrations, the cache and its keys, the
runtime following the plan (and forced models), the memory budget when the bigger model loads,
and one real calibration of the smallest model on this machine."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.calibrate import (
    Calibration,
    CalibrationCache,
    CalibrationKey,
    cache_for,
    forced_from,
    key_for,
    llama_build,
)
from runtime.catalog import load_catalog
from runtime.config import Config
from runtime.engines.base import LoadReport
from runtime.engines.fake import FakeTextEngine
from runtime.errors import ModelNotFound
from runtime.roles import Candidate, RoleTargets, choose, plan_roles
from runtime.runtime import Runtime
from runtime.store import InstalledModel
from tests.runtime.test_planner import PLAIN_CPU

B15, B05, SMOL = "qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"
ROLES = {
    B15: ("chat", "code", "fim", "autocomplete"),
    B05: ("chat", "code", "fim", "autocomplete"),
    SMOL: ("chat", "autocomplete"),
}
SIZES = {B15: 1117320768, B05: 491400064, SMOL: 98362432}
PARAMS = {B15: 1_543_714_304, B05: 494_032_768, SMOL: 134_515_008}
DEFAULTS = {"chat": B05, "grounded": B05, "voice": B05, "fim": B05, "autocomplete": SMOL}


def cal(model: str, prompt_tps: float, gen_tps: float, device: str = "cpu/x") -> Calibration:
    key = CalibrationKey(f"sha-{model}", device, "llama-cpp-python 0.3.36 #abc", 2)
    return Calibration(model, key, prompt_tps, gen_tps, PARAMS[model], 200, 0.0)


def machine(speeds: dict[str, tuple[float, float]]) -> list[Candidate]:
    return [Candidate(m, ROLES[m], SIZES[m], cal(m, *speeds[m])) for m in speeds]


# measured orders of magnitude: a laptop with an RTX-class GPU, and this shared 2-core x86 box
GPU_LAPTOP = machine({B15: (2500.0, 75.0), B05: (6000.0, 160.0), SMOL: (12000.0, 320.0)})
TWO_CORES = machine({B15: (30.0, 10.0), B05: (230.0, 40.0), SMOL: (340.0, 110.0)})


def test_a_gpu_laptop_runs_the_15b_model_for_chat_grounded_voice_and_fim() -> None:
    plan = plan_roles(GPU_LAPTOP, RoleTargets(), DEFAULTS)
    assert {r: c.model_id for r, c in plan.items()} == {
        "chat": B15,
        "grounded": B15,
        "voice": B15,
        "fim": B15,
        "autocomplete": SMOL,  # keystrokes want the fastest model
    }
    assert all(c.meets for c in plan.values())
    assert "most capable" in plan["chat"].reason and "75.0 tok/s" in plan["chat"].reason


def test_two_cores_chat_on_15b_but_grounded_answers_on_05b_because_of_the_prompt() -> None:
    plan = plan_roles(TWO_CORES, RoleTargets(), DEFAULTS)
    # 10 tok/s streams fast enough to read, so the stronger model chats...
    assert plan["chat"].model_id == B15 and plan["chat"].meets
    # ...but reading a 300-token grounded prompt at 30 tok/s takes 10 s: the 0.5B model answers
    g = plan["grounded"]
    assert g.model_id == B05 and g.meets
    assert B15 in g.reason and "10.1 s to first token" in g.reason
    assert plan["fim"].model_id == B05 and plan["autocomplete"].model_id == SMOL


def test_a_busy_machine_drops_chat_to_the_smaller_model_and_says_why() -> None:
    busy = machine({B15: (20.0, 6.0), B05: (150.0, 25.0)})
    c = choose("chat", busy, RoleTargets(), B05)
    assert c.model_id == B05 and "6.0 tok/s" in c.reason and B15 in c.reason


def test_targets_are_settings() -> None:
    strict = RoleTargets(chat_min_tps=12.0, grounded_max_ttft=20.0)
    plan = plan_roles(TWO_CORES, strict, DEFAULTS)
    assert plan["chat"].model_id == B05  # 10 tok/s no longer enough
    assert plan["grounded"].model_id == B15  # 10 s allowed now
    cfg = Config.from_env({"ASSISTANT_HOME": "/tmp/x", "ASSISTANT_CHAT_MIN_TPS": "12"})
    assert cfg.chat_min_tps == 12.0


def test_when_no_model_meets_the_target_the_default_stays_marked_as_missing_it() -> None:
    slow = machine({B15: (5.0, 2.0), B05: (40.0, 6.0)})
    c = choose("fim", slow, RoleTargets(), B05)
    assert c.model_id == B05 and c.meets is False and "no installed model meets" in c.reason
    c = choose("chat", machine({B15: (5.0, 2.0), B05: (40.0, 6.0)}), RoleTargets(), B15)
    assert c.model_id == B15 and "fastest: qwen2.5-coder-0.5b, 6.0 tok/s" in c.reason
    # without the default among them, the closest one serves
    c = choose("chat", machine({B15: (5.0, 2.0), B05: (40.0, 6.0)}), RoleTargets(), "other-model")
    assert c.model_id == B05 and c.meets is False


def test_uncalibrated_models_keep_the_configured_default_and_say_how_to_measure() -> None:
    cands = [Candidate(m, ROLES[m], SIZES[m], None) for m in (B15, B05)]
    c = choose("chat", cands, RoleTargets(), B05)
    assert c.model_id == B05 and c.meets is None and "doctor --calibrate" in c.reason
    # a calibrated smaller model is used, and the uncalibrated bigger one is named, not guessed
    mixed = [Candidate(B15, ROLES[B15], SIZES[B15], None), *machine({B05: (230.0, 40.0)})]
    c = choose("chat", mixed, RoleTargets(), B05)
    assert c.model_id == B05 and "not calibrated yet: " + B15 in c.reason


def test_a_fast_but_tiny_model_never_gets_the_conversation() -> None:
    busy = machine({B05: (24.0, 7.9), SMOL: (38.0, 16.3)})  # this shared box at load 6 per core
    plan = plan_roles(busy, RoleTargets(), DEFAULTS)
    assert plan["chat"].model_id == B05 and plan["chat"].meets is False
    assert any(v.model_id == SMOL and "too small" in v.measured for v in plan["chat"].considered)
    assert plan["autocomplete"].model_id == SMOL  # prose completion is where it shines


def test_an_unmeasured_default_is_kept_rather_than_a_measured_model_that_misses() -> None:
    cands = [*machine({B15: (30.0, 3.0)}), Candidate(SMOL, ROLES[SMOL], SIZES[SMOL], None)]
    c = choose("autocomplete", cands, RoleTargets(), SMOL)
    assert c.model_id == SMOL and c.meets is None and "not calibrated yet" in c.reason


def test_a_model_without_the_role_is_never_chosen() -> None:
    plan = plan_roles(machine({SMOL: (340.0, 110.0)}), RoleTargets(), DEFAULTS)
    assert plan["fim"].model_id == B05 and "no installed model can play" in plan["fim"].reason


def test_forced_models_win_from_the_environment() -> None:
    env = {"ASSISTANT_HOME": "/tmp/x", "ASSISTANT_CHAT_MODEL": SMOL, "ASSISTANT_FIM_MODEL": B15}
    forced = forced_from(Config.from_env(env))
    assert forced["chat"] == (SMOL, "ASSISTANT_CHAT_MODEL") and forced["grounded"][0] == SMOL
    assert forced["fim"] == (B15, "ASSISTANT_FIM_MODEL") and "autocomplete" not in forced
    plan = plan_roles(GPU_LAPTOP, RoleTargets(), DEFAULTS, forced)
    assert plan["chat"].model_id == SMOL and plan["chat"].forced
    assert "ASSISTANT_CHAT_MODEL" in plan["chat"].reason
    assert plan["autocomplete"].model_id == SMOL and not plan["autocomplete"].forced


def test_cache_round_trips_and_a_new_key_is_a_miss(tmp_path: Path) -> None:
    cache = CalibrationCache(tmp_path / "c.json")
    a = cal(B05, 230.0, 40.0)
    cache.put(a)
    cache.put(replace(a, gen_tps=41.0))  # same key replaces
    assert cache.load() == [replace(a, gen_tps=41.0)]
    for changed in (
        replace(a.key, threads=4),
        replace(a.key, build="llama-cpp-python 0.3.37 #def"),
        replace(a.key, device="cuda/x"),
        replace(a.key, sha256="other"),
    ):
        assert cache.get(changed) is None
    (tmp_path / "c.json").write_text("{not json")
    assert cache.load() == []


class FakeStore:
    """The slice of ModelStore the runtime uses, over the real catalog's sizes."""

    def __init__(self, ids: tuple[str, ...]) -> None:
        self.catalog = load_catalog()
        self.models = {
            i: InstalledModel(
                i,
                "gguf",
                self.catalog[i].roles,
                Path("/nonexistent") / i,
                self.catalog[i].size or 0,
                self.catalog[i].sha256,
                "test",
                0.0,
                self.catalog[i],
            )
            for i in ids
        }

    def list(self) -> list[InstalledModel]:
        return list(self.models.values())

    def get(self, model_id: str) -> InstalledModel:
        if model_id not in self.models:
            raise ModelNotFound(f"{model_id} is not installed", "pull it")
        return self.models[model_id]

    ensure = get


def _fake_loader(model: InstalledModel, plan: object) -> FakeTextEngine:
    report = LoadReport(model.id, "cpu", ("fake",), (), 0.0, model.size + 50 * 2**20)
    return FakeTextEngine(model.id, reply="ok", report=report)


def test_the_runtime_follows_the_plan_and_forced_settings(tmp_path: Path) -> None:
    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path)})
    store = FakeStore((B15, B05, SMOL))
    rt = Runtime(cfg, store=store, facts=PLAIN_CPU, loaders={"gguf": _fake_loader})  # type: ignore[arg-type]
    assert rt.model_for("chat") == B05  # nothing calibrated: the configured default
    build = llama_build()
    cache = cache_for(cfg)
    speeds = {B15: (30.0, 10.0), B05: (230.0, 40.0), SMOL: (340.0, 110.0)}
    for mid, (p, g) in speeds.items():
        key = key_for(store.get(mid), PLAIN_CPU, rt.plans["gguf"], build)
        cache.put(Calibration(mid, key, p, g, PARAMS[mid], 200, time.time()))
    rt = Runtime(cfg, store=store, facts=PLAIN_CPU, loaders={"gguf": _fake_loader})  # type: ignore[arg-type]
    assert (rt.model_for("chat"), rt.model_for("grounded"), rt.model_for("fim")) == (B15, B05, B05)
    assert rt.model_for("autocomplete") == SMOL and rt.model_for("code") == B15
    # other threads on the same machine: the stored key no longer matches, so nothing is trusted
    rt4 = Runtime(cfg.with_(threads=3), store=store, facts=PLAIN_CPU, loaders={"gguf": _fake_loader})  # type: ignore[arg-type]
    assert rt4.model_for("chat") == B05 and rt4.roles["chat"].meets is None
    forced = Config.from_env({"ASSISTANT_HOME": str(tmp_path), "ASSISTANT_CHAT_MODEL": SMOL})
    rtf = Runtime(forced, store=store, facts=PLAIN_CPU, loaders={"gguf": _fake_loader})  # type: ignore[arg-type]
    assert rtf.model_for("chat") == SMOL and rtf.model_for("grounded") == SMOL


def test_loading_the_bigger_model_evicts_within_a_small_budget(tmp_path: Path) -> None:
    budget = 1200 * 2**20  # room for the 1.5B model alone, or the 0.5B and the 135M together
    cfg = Config.from_env({"ASSISTANT_HOME": str(tmp_path)}).with_(memory_budget=budget)
    rt = Runtime(cfg, store=FakeStore((B15, B05, SMOL)), facts=PLAIN_CPU, loaders={"gguf": _fake_loader})  # type: ignore[arg-type]
    for mid in (B05, SMOL):
        with rt.scheduler.use(mid):
            pass
    assert {m.model_id for m in rt.scheduler.loaded()} == {B05, SMOL}
    with rt.scheduler.use(B15):
        pass
    assert [m.model_id for m in rt.scheduler.loaded()] == [B15]
    assert sum(m.memory_bytes for m in rt.scheduler.loaded()) <= budget
    with rt.scheduler.use(B05):  # and back: the idle 1.5B model makes room
        pass
    assert [m.model_id for m in rt.scheduler.loaded()] == [B05]
    rt.close()


@pytest.mark.real_model
def test_a_real_calibration_of_the_smallest_model_is_measured_and_cached(
    config: Config, tmp_path: Path
) -> None:
    from runtime.calibrate import calibrate_installed, current_calibrations, role_plan

    rt = Runtime(config.with_(data_dir=tmp_path, threads=1))
    try:
        rt.store.ensure(SMOL)
        [c] = calibrate_installed(rt, only=(SMOL,))
        assert c.model_id == SMOL and c.prompt_tps > 0 and c.gen_tps > 0
        assert c.prompt_tokens > 100 and 100_000_000 < c.n_params < 200_000_000
        assert c.key.threads == 1 and c.key.build == llama_build()
        assert calibrate_installed(rt, only=(SMOL,)) == []  # cached: not measured again
        assert current_calibrations(rt) == [c]
        plan = role_plan(rt)
        assert plan["autocomplete"].model_id == SMOL
        assert any(v.model_id == SMOL and v.meets is not None for v in plan["autocomplete"].considered)
    finally:
        rt.close()
