"""`assistant doctor` output: machine facts and engine plans as rich tables or as JSON.

Only rendering lives here; the CLI probes and plans, then prints what these functions return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from rich.console import Group
from rich.table import Table

from runtime.planner import DevicePlan, EnginePlan
from runtime.probe import Facts

if TYPE_CHECKING:
    from runtime.calibrate import Calibration
    from runtime.roles import RoleChoice


def _gib(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB" if n else "unknown"


def _battery(facts: Facts) -> str:
    b = facts.battery
    if b is None:
        return "none (mains power)"
    level = "unknown level" if b.percent is None else f"{b.percent:.0f}%"
    power = {True: "plugged in", False: "on battery", None: "power source unknown"}[b.plugged]
    return f"{level}, {power}"


def _settings(family: str, c: DevicePlan) -> str:
    if family == "gguf":
        layers = "all" if c.n_gpu_layers < 0 else str(c.n_gpu_layers)
        return f"n_gpu_layers={layers}"
    if family == "onnx":
        # one provider per line, its options indented below, so nothing is cut off in narrow terminals
        lines = []
        for name, opts in c.providers:
            lines.append(name)
            lines.extend(f"  {k}={v}" for k, v in opts.items())
        return "\n".join(lines)
    return f"compute_type={c.compute_type}"


def machine_table(facts: Facts) -> Table:
    """Return a two-column table of the machine facts."""
    t = Table(title="Machine", show_header=False, title_justify="left")
    t.add_column("fact", style="bold")
    t.add_column("value")
    t.add_row("OS / arch", f"{facts.os} / {facts.arch}" + (" (Termux)" if facts.is_termux else ""))
    t.add_row("CPU", facts.cpu_model)
    t.add_row("SoC", facts.soc or "not detected")
    t.add_row("CPU features", ", ".join(sorted(facts.cpu_features)) or "none detected")
    t.add_row("Cores", f"{facts.physical_cores} physical, {facts.logical_cores} logical")
    t.add_row("RAM", f"{_gib(facts.ram_available)} available of {_gib(facts.ram_total)}")
    t.add_row("Battery", _battery(facts))
    return t


def backends_table(facts: Facts) -> Table:
    """Return a table of what each inference library was built with."""
    t = Table(title="Engines", title_justify="left")
    t.add_column("library", style="bold")
    t.add_column("accelerators")
    offload = "GPU offload available" if facts.llama_gpu_offload else "no GPU offload"
    t.add_row("llama.cpp (gguf)", f"{', '.join(facts.llama_backends)}; {offload}")
    t.add_row("onnxruntime (onnx)", ", ".join(facts.ort_providers) or "not installed")
    t.add_row("ctranslate2", f"{facts.ct2_cuda_devices} CUDA device(s)")
    return t


def plans_table(plans: dict[str, EnginePlan]) -> Table:
    """Return one row per candidate: family, rank, device, settings, threads and reasons."""
    t = Table(title="Plan (tried top to bottom per family)", title_justify="left", show_lines=True)
    t.add_column("family", style="bold")
    t.add_column("#", justify="right")
    t.add_column("device", style="cyan")
    t.add_column("settings", overflow="fold")
    t.add_column("threads", justify="right")
    t.add_column("why")
    for family, plan in plans.items():
        for i, c in enumerate(plan.candidates):
            last = i == len(plan.candidates) - 1 and i > 0
            device = f"{c.device}\n(fallback)" if last else c.device
            reasons = "\n".join(f"• {r}" for r in c.reasons)
            t.add_row(
                family if i == 0 else "", str(i + 1), device, _settings(family, c), str(c.threads), reasons
            )
    return t


def roles_table(roles: Mapping[str, RoleChoice], calibrations: Sequence[Calibration] = ()) -> Table:
    """Return one row per role: the model chosen, its target, whether it meets it, and why."""
    t = Table(title="Models per role (measured on this device)", title_justify="left", show_lines=True)
    t.add_column("role", style="bold")
    t.add_column("model", style="cyan")
    t.add_column("target")
    t.add_column("meets", justify="center")
    t.add_column("why")
    mark = {True: "✓", False: "✗", None: "–"}
    for role, c in roles.items():
        t.add_row(role, c.model_id + (" (forced)" if c.forced else ""), c.target, mark[c.meets], c.reason)
    if calibrations:
        t.caption = "calibrated: " + "; ".join(
            f"{c.model_id} {c.prompt_tps:.0f} prompt tok/s, {c.gen_tps:.1f} gen tok/s"
            + (f" (machine busy: load {c.load:.1f} per core)" if c.load > 1.0 else "")
            for c in calibrations
        )
    return t


def doctor_tables(
    facts: Facts,
    plans: dict[str, EnginePlan],
    roles: Mapping[str, RoleChoice] | None = None,
    calibrations: Sequence[Calibration] = (),
) -> list[Table]:
    """Return the doctor report as rich tables: machine, engines, plans (and models per role)."""
    tables = [machine_table(facts), backends_table(facts), plans_table(plans)]
    if roles:
        tables.append(roles_table(roles, calibrations))
    return tables


def render(facts: Facts, plans: dict[str, EnginePlan]) -> Group:
    """Return the doctor report as one renderable for `console.print`."""
    return Group(*doctor_tables(facts, plans))


def doctor_json(
    facts: Facts,
    plans: dict[str, EnginePlan],
    roles: Mapping[str, RoleChoice] | None = None,
    calibrations: Sequence[Calibration] = (),
) -> dict[str, Any]:
    """Return the doctor report as JSON-able builtins: {"facts", "plans": {family: ...}}, plus
    "roles" {role: choice} and "calibrations" [...] when given."""
    out: dict[str, Any] = {
        "facts": facts.to_dict(),
        "plans": {
            family: {"primary": plan.primary.device, "candidates": [c.to_dict() for c in plan.candidates]}
            for family, plan in plans.items()
        },
    }
    if roles is not None:
        out["roles"] = {role: c.to_dict() for role, c in roles.items()}
        out["calibrations"] = [c.to_dict() for c in calibrations]
    return out


__all__ = [
    "backends_table",
    "doctor_json",
    "doctor_tables",
    "machine_table",
    "plans_table",
    "render",
    "roles_table",
]
