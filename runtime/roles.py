"""Which installed model serves each role on this device, and why: a plan, like the device plan.

For each role (chat, grounded chat, voice, autocomplete, FIM) the planner takes the installed text
models that can play it, most capable first (parameter count read from the model at calibration,
else file size), and picks the first whose *measured* speed (runtime/calibrate.py) meets the role's
latency target. Autocomplete is the exception: a keystroke budget of tens of milliseconds wants
the fastest model, so it takes the fastest one that meets its target. A model the user forces
(ASSISTANT_CHAT_MODEL, ...) always wins. Without calibrations for this device and build the
planner keeps the configured default and says how to calibrate; it never guesses a speed.

Pure logic: inputs are plain data, so tests inject any device's calibrations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from runtime.calibrate import Calibration

ROLES = ("chat", "grounded", "voice", "autocomplete", "fim")
# catalog role a model must list to play each planning role
NEEDS = {"chat": "chat", "grounded": "chat", "voice": "chat", "autocomplete": "autocomplete", "fim": "fim"}


@dataclass(frozen=True)
class RoleTargets:
    """Latency targets per role (settings: runtime/config.py)."""

    chat_min_tps: float = 8.0  # chat streams at least this many tokens/s
    grounded_max_ttft: float = 2.0  # a grounded answer's first token within this many seconds...
    grounded_prompt_tokens: int = 300  # ...for a prompt this long
    voice_max_ttft: float = 1.0  # a spoken reply starts within this...
    voice_prompt_tokens: int = 100  # ...for a short spoken-turn prompt
    voice_min_tps: float = 5.0  # and keeps ahead of speech (~3 tokens/s spoken)
    autocomplete_min_tps: float = 30.0  # a word (2-3 tokens) inside a ~100 ms keystroke budget
    fim_min_tps: float = 20.0  # a short code infill inside the 80 ms + background budget
    # chat, grounded and voice answers need a model this big: SmolLM2-135M streams fast but gets
    # everyday facts wrong, so speed alone must not hand it the conversation
    chat_min_params: int = 300_000_000


@dataclass(frozen=True)
class Candidate:
    """An installed model that could play a role."""

    model_id: str
    roles: tuple[str, ...]  # catalog roles
    size: int  # bytes on disk, the capability order when the parameter count is unknown
    calibration: Calibration | None = None  # for this device, build and thread count

    @property
    def capability(self) -> int:
        """Return a number that orders models by how capable they are (more parameters first)."""
        if self.calibration is not None and self.calibration.n_params > 0:
            return self.calibration.n_params
        return self.size // 2  # Q4 weights: about half a byte per parameter


@dataclass(frozen=True)
class Verdict:
    """How one candidate measured against a role's target."""

    model_id: str
    meets: bool | None  # None: not calibrated here
    measured: str  # "10.1 tok/s", "1.3 s to first token", "not calibrated"


@dataclass(frozen=True)
class RoleChoice:
    """The model chosen for a role and why."""

    role: str
    model_id: str
    reason: str
    target: str
    meets: bool | None  # None when forced or not calibrated
    forced: bool = False
    considered: tuple[Verdict, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """Return the choice as JSON-able builtins."""
        return {
            "role": self.role,
            "model": self.model_id,
            "reason": self.reason,
            "target": self.target,
            "meets_target": self.meets,
            "forced": self.forced,
            "considered": [
                {"model": v.model_id, "meets_target": v.meets, "measured": v.measured}
                for v in self.considered
            ],
        }


def _check(role: str, t: RoleTargets) -> tuple[str, Callable[[Calibration], tuple[bool, float, str]]]:
    """Return the role's target in words and a test: calibration -> (meets, score, measured)."""
    if role in ("chat",):
        return f">= {t.chat_min_tps:g} tok/s", lambda c: (
            c.gen_tps >= t.chat_min_tps,
            c.gen_tps,
            f"{c.gen_tps:.1f} tok/s",
        )
    if role == "grounded":
        n = t.grounded_prompt_tokens

        def grounded(c: Calibration) -> tuple[bool, float, str]:
            s = c.ttft(n)
            return s <= t.grounded_max_ttft, -s, f"{s:.1f} s to first token ({c.prompt_tps:.0f} prompt tok/s)"

        return f"first token <= {t.grounded_max_ttft:g} s for a {n}-token prompt", grounded
    if role == "voice":
        n = t.voice_prompt_tokens

        def voice(c: Calibration) -> tuple[bool, float, str]:
            s = c.ttft(n)
            ok = s <= t.voice_max_ttft and c.gen_tps >= t.voice_min_tps
            return ok, -s, f"{s:.1f} s to first token, {c.gen_tps:.1f} tok/s"

        return (
            f"first token <= {t.voice_max_ttft:g} s for {n} tokens and >= {t.voice_min_tps:g} tok/s",
            voice,
        )
    if role == "autocomplete":
        return f">= {t.autocomplete_min_tps:g} tok/s, fastest wins", lambda c: (
            c.gen_tps >= t.autocomplete_min_tps,
            c.gen_tps,
            f"{c.gen_tps:.1f} tok/s",
        )
    if role == "fim":
        return f">= {t.fim_min_tps:g} tok/s", lambda c: (
            c.gen_tps >= t.fim_min_tps,
            c.gen_tps,
            f"{c.gen_tps:.1f} tok/s",
        )
    raise ValueError(f"unknown role {role!r}")


def choose(
    role: str,
    candidates: Sequence[Candidate],
    targets: RoleTargets,
    default: str,
    forced: str | None = None,
    forced_by: str = "",
) -> RoleChoice:
    """Return the model for one role: forced, else the most capable that meets the target."""
    target, test = _check(role, targets)
    if forced:
        why = f"forced by {forced_by}" if forced_by else "forced by configuration"
        return RoleChoice(role, forced, why, target, None, forced=True)
    able = [c for c in candidates if NEEDS[role] in c.roles]
    small: list[Verdict] = []
    if role in ("chat", "grounded", "voice"):
        small = [
            Verdict(c.model_id, False, f"too small to answer reliably ({c.capability / 1e6:.0f}M parameters)")
            for c in able
            if c.capability < targets.chat_min_params
        ]
        able = [c for c in able if c.capability >= targets.chat_min_params]
    # autocomplete wants the fastest model; every other role the most capable one that is fast enough
    if role == "autocomplete":
        able.sort(key=lambda c: -(c.calibration.gen_tps if c.calibration else 0.0))
    else:
        able.sort(key=lambda c: -c.capability)
    verdicts: list[Verdict] = []
    best: tuple[float, Candidate] | None = None
    chosen: Candidate | None = None
    for c in able:
        if c.calibration is None:
            verdicts.append(Verdict(c.model_id, None, "not calibrated on this device and build"))
            continue
        ok, score, measured = test(c.calibration)
        verdicts.append(Verdict(c.model_id, ok, measured))
        if ok and chosen is None:
            chosen = c
        if best is None or score > best[0]:
            best = (score, c)
    considered = tuple(verdicts + small)
    missed = [v for v in verdicts if v.meets is False and (chosen is None or v.model_id != chosen.model_id)]
    if chosen is not None:
        measured = next(v.measured for v in verdicts if v.model_id == chosen.model_id)
        bigger = [v for v in missed if _index(able, v.model_id) < _index(able, chosen.model_id)]
        why = f"{measured} meets the target ({target})"
        if role == "autocomplete":
            why = f"the fastest installed model: {why}"
        elif bigger:
            why += "; more capable but too slow here: " + "; ".join(
                f"{v.model_id} {v.measured}" for v in bigger
            )
        else:
            why = f"the most capable installed model, and {why}"
        uncal = [v.model_id for v in verdicts if v.meets is None]
        if uncal:
            why += f"; not calibrated yet: {', '.join(uncal)}"
        return RoleChoice(role, chosen.model_id, why, target, True, considered=considered)
    unmeasured_default = any(v.model_id == default and v.meets is None for v in verdicts)
    if best is not None and unmeasured_default:
        # the configured default may well meet the target: it is not judged until it is measured
        why = (
            f"no calibrated model meets the target ({target}); the configured default {default} is not "
            "calibrated yet, so it serves; run `assistant doctor --calibrate`"
        )
        return RoleChoice(role, default, why, target, None, considered=considered)
    if best is not None:
        c = best[1]
        measured = next(v.measured for v in verdicts if v.model_id == c.model_id)
        why = f"no installed model meets the target ({target}); {c.model_id} comes closest: {measured}"
        default_measured = next((v.measured for v in verdicts if v.model_id == default), None)
        if default_measured is not None and role != "autocomplete" and c.model_id != default:
            # too slow everywhere: trading the configured model's answers for a weaker one's speed
            # is not the planner's call, so the default stays, marked as missing its target
            why = (
                f"no installed model meets the target ({target}): {default} (the configured default) "
                f"measures {default_measured}; fastest: {c.model_id}, {measured}"
            )
            return RoleChoice(role, default, why, target, False, considered=considered)
        return RoleChoice(role, c.model_id, why, target, False, considered=considered)
    why = (
        f"no speed measured on this device and build yet, so the configured default {default} serves it; "
        "run `assistant doctor --calibrate`"
        if able
        else f"no installed model can play this role; the configured default is {default}"
    )
    return RoleChoice(role, default, why, target, None, considered=considered)


def _index(able: Sequence[Candidate], model_id: str) -> int:
    return next(i for i, c in enumerate(able) if c.model_id == model_id)


def plan_roles(
    candidates: Sequence[Candidate],
    targets: RoleTargets,
    defaults: Mapping[str, str],
    forced: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, RoleChoice]:
    """Return a choice for every role. defaults: role -> configured model id; forced: role ->
    (model id, the setting that forced it)."""
    forced = forced or {}
    out: dict[str, RoleChoice] = {}
    for role in ROLES:
        f = forced.get(role)
        out[role] = choose(role, candidates, targets, defaults[role], f[0] if f else None, f[1] if f else "")
    return out


__all__ = ["NEEDS", "ROLES", "Candidate", "RoleChoice", "RoleTargets", "Verdict", "choose", "plan_roles"]
