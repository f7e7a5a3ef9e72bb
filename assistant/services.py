"""What the front doors (CLI, daemon, TUI) share: the config, the runtime, and skills built
lazily on first use. Skills are registered by name -> "module:factory"; a factory takes the
Services object, so a skill can reach the runtime and (through narrow interfaces) other skills.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from runtime.config import Config
from runtime.errors import AssistantError

SKILLS: dict[str, str] = {
    "autocomplete": "skills.autocomplete:create",
    "translate": "skills.translate:create",
    "speech": "skills.speech:create",
    "memory": "skills.memory:create",
    "chat": "skills.chat:create",
}


class Services:
    """Holds one Runtime and the skills built so far. Thread-safe; close() releases everything."""

    def __init__(self, config: Config, runtime: Any = None, overrides: dict[str, Any] | None = None) -> None:
        self.config = config
    "voice": "skills.voice:create",
        self._runtime = runtime
        self._skills: dict[str, Any] = dict(overrides or {})
        self._mu = threading.RLock()

    @property
    def runtime(self) -> Any:
        with self._mu:
            if self._runtime is None:
                from runtime.runtime import Runtime

                self._runtime = Runtime(self.config)
            return self._runtime

    @property
    def runtime_started(self) -> bool:
        """Whether the runtime has been built (reading it would build it)."""
        return self._runtime is not None

    def skill(self, name: str) -> Any:
        """Return the skill called name, building it on first use."""
        with self._mu:
            if name not in self._skills:
                target = SKILLS.get(name)
                if target is None:
                    raise AssistantError(f"unknown skill {name!r}", f"skills: {', '.join(sorted(SKILLS))}")
                module, attr = target.split(":")
                self._skills[name] = getattr(importlib.import_module(module), attr)(self)
            return self._skills[name]

    def has(self, name: str) -> bool:
        """Whether the skill called name has been built already."""
        return name in self._skills

    def close(self) -> None:
        with self._mu:
            for s in self._skills.values():
                close = getattr(s, "close", None)
                if callable(close):
                    close()
            self._skills.clear()
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None
