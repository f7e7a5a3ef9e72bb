"""Every setting and environment variable, typed and read in one place.

Environment variables (all optional):
  ASSISTANT_HOME          root for data, config and runtime files (tests and portable installs)
  ASSISTANT_MODELS_DIR    where the model store keeps installed models
  ASSISTANT_DEVICE        force a device: cpu, cuda, metal, vulkan, qnn, coreml, dml
  ASSISTANT_THREADS       CPU threads for inference (default: physical cores)
  ASSISTANT_MEMORY_BUDGET bytes (or 512M / 4G) the scheduler may keep loaded
  ASSISTANT_KEEP_ALIVE    seconds an idle model stays loaded (default 300)
  ASSISTANT_QUEUE_TIMEOUT seconds a request may wait for a busy model (default 120)
  ASSISTANT_CHAT_MODEL    default chat model id
  ASSISTANT_SMALL_MODEL   default small/autocomplete model id
  ASSISTANT_CHAT_MODEL, ASSISTANT_SMALL_MODEL, ASSISTANT_GROUNDED_MODEL, ASSISTANT_VOICE_MODEL,
  ASSISTANT_FIM_MODEL     when set, force that model for the role (chat also forces grounded and
                          voice unless they are set); unset, the role planner picks (runtime/roles.py)
  ASSISTANT_CHAT_MIN_TPS  chat must stream at least this many tokens/s (default 8)
  ASSISTANT_GROUNDED_MAX_TTFT  a grounded answer's first token within this many seconds (default 2)...
  ASSISTANT_GROUNDED_PROMPT_TOKENS  ...for a prompt this long (default 300)
  ASSISTANT_VOICE_MAX_TTFT  a spoken reply's first token within this many seconds (default 1)
  ASSISTANT_AUTOCOMPLETE_MIN_TPS, ASSISTANT_FIM_MIN_TPS  generation speed those roles need (30, 20)
  ASSISTANT_ALLOWED_ORIGINS  comma-separated browser origins the daemon's TCP listener accepts
                          (default none: every browser Origin is refused)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from runtime.errors import ConfigError

APP_NAME = "assistant"
DEVICES = ("cpu", "cuda", "metal", "vulkan", "qnn", "coreml", "dml")


def parse_size(text: str) -> int:
    """Return a byte count from '512M', '4G', '1.5GiB' or a plain integer."""
    s = text.strip().upper().removesuffix("IB").removesuffix("B")
    mult = 1
    for suffix, m in (("K", 1024), ("M", 1024**2), ("G", 1024**3), ("T", 1024**4)):
        if s.endswith(suffix):
            s, mult = s[:-1], m
            break
    try:
        return int(float(s) * mult)
    except ValueError:
        raise ConfigError(f"cannot read size {text!r}", "use bytes or a suffix, e.g. 512M or 4G") from None


@dataclass(frozen=True)
class Config:
    """Resolved settings. Build with `Config.from_env()`; tests pass explicit values."""

    data_dir: Path
    config_dir: Path
    runtime_dir: Path
    models_dir: Path
    device: str | None = None
    threads: int | None = None
    memory_budget: int | None = None
    keep_alive: float = 300.0
    queue_timeout: float = 120.0
    chat_model: str = "qwen2.5-coder-0.5b"
    small_model: str = "smollm2-135m"
    allowed_origins: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)
    # role targets for the role planner (runtime/roles.py)
    chat_min_tps: float = 8.0
    grounded_max_ttft: float = 2.0
    grounded_prompt_tokens: int = 300
    voice_max_ttft: float = 1.0
    autocomplete_min_tps: float = 30.0
    fim_min_tps: float = 20.0
    # (role, model id, setting) for each role the user forced through the environment
    forced_models: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        """Read the environment (default: os.environ) into a Config."""
        env = os.environ if env is None else env
        home = env.get("ASSISTANT_HOME")
        if home:
            root = Path(home).expanduser()
            data, conf, run = root / "data", root / "config", root / "run"
        else:
            import platformdirs

            data = Path(platformdirs.user_data_dir(APP_NAME))
            conf = Path(platformdirs.user_config_dir(APP_NAME))
            run = _runtime_dir(env)
        models = (
            Path(env["ASSISTANT_MODELS_DIR"]).expanduser()
            if env.get("ASSISTANT_MODELS_DIR")
            else data / "models"
        )
        device = env.get("ASSISTANT_DEVICE") or None
        if device is not None and device.lower() not in DEVICES:
            raise ConfigError(
                f"ASSISTANT_DEVICE={device!r} is not a device", f"use one of {', '.join(DEVICES)}"
            )
        threads = _int(env, "ASSISTANT_THREADS")
        budget = parse_size(env["ASSISTANT_MEMORY_BUDGET"]) if env.get("ASSISTANT_MEMORY_BUDGET") else None
        return cls(
            data_dir=data,
            config_dir=conf,
            runtime_dir=run,
            models_dir=models,
            device=device.lower() if device else None,
            threads=threads,
            memory_budget=budget,
            keep_alive=_float(env, "ASSISTANT_KEEP_ALIVE", 300.0),
            queue_timeout=_float(env, "ASSISTANT_QUEUE_TIMEOUT", 120.0),
            chat_model=env.get("ASSISTANT_CHAT_MODEL", "qwen2.5-coder-0.5b"),
            small_model=env.get("ASSISTANT_SMALL_MODEL", "smollm2-135m"),
            allowed_origins=tuple(
                o.strip().rstrip("/")
                for o in env.get("ASSISTANT_ALLOWED_ORIGINS", "").split(",")
                if o.strip()
            ),
            chat_min_tps=_float(env, "ASSISTANT_CHAT_MIN_TPS", 8.0),
            grounded_max_ttft=_float(env, "ASSISTANT_GROUNDED_MAX_TTFT", 2.0),
            grounded_prompt_tokens=_int(env, "ASSISTANT_GROUNDED_PROMPT_TOKENS") or 300,
            voice_max_ttft=_float(env, "ASSISTANT_VOICE_MAX_TTFT", 1.0),
            autocomplete_min_tps=_float(env, "ASSISTANT_AUTOCOMPLETE_MIN_TPS", 30.0),
            fim_min_tps=_float(env, "ASSISTANT_FIM_MIN_TPS", 20.0),
            forced_models=_forced_models(env),
        )

    def with_(self, **changes: object) -> "Config":
        """Return a copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


# which environment variable forces which roles; the first one set for a role wins
_FORCING = (
    ("ASSISTANT_GROUNDED_MODEL", ("grounded",)),
    ("ASSISTANT_VOICE_MODEL", ("voice",)),
    ("ASSISTANT_FIM_MODEL", ("fim",)),
    ("ASSISTANT_CHAT_MODEL", ("chat", "grounded", "voice")),
    ("ASSISTANT_SMALL_MODEL", ("autocomplete",)),
)


def _forced_models(env: Mapping[str, str]) -> tuple[tuple[str, str, str], ...]:
    out: dict[str, tuple[str, str, str]] = {}
    for var, roles in _FORCING:
        model = env.get(var, "").strip()
        if model:
            for role in roles:
                out.setdefault(role, (role, model, var))
    return tuple(out.values())


def _runtime_dir(env: Mapping[str, str]) -> Path:
    """The per-user runtime folder for the daemon socket: $XDG_RUNTIME_DIR/assistant on Linux,
    else a private folder under the temp dir (platformdirs would warn and pick a shared one)."""
    import sys
    import tempfile

    xdg = env.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / APP_NAME
    if sys.platform == "darwin":
        import platformdirs

        return Path(platformdirs.user_runtime_dir(APP_NAME))
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{uid}"


def _int(env: Mapping[str, str], key: str) -> int | None:
    if not env.get(key):
        return None
    try:
        return int(env[key])
    except ValueError:
        raise ConfigError(f"{key}={env[key]!r} is not an integer", f"set {key} to a whole number") from None


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    if not env.get(key):
        return default
    try:
        return float(env[key])
    except ValueError:
        raise ConfigError(f"{key}={env[key]!r} is not a number", f"set {key} to seconds, e.g. 300") from None
