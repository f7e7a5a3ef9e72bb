"""What the front doors (CLI, daemon, TUI) share: the config, the runtime, and skills built
lazily on first use. Skills are registered by name -> "module:factory"; a factory takes the
Services object, so a skill can reach the runtime and (through narrow interfaces) other skills.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any, Literal, overload

from runtime.config import Config
from runtime.errors import AssistantError

if TYPE_CHECKING:
    from runtime.runtime import Runtime
    from skills.autocomplete.skill import Autocomplete
    from skills.chat import ChatSkill
    from skills.memory.skill import MemorySkill
    from skills.speech import SpeechSkill
    from skills.translate import TranslateSkill
    from skills.voice import VoiceSkill

SKILLS: dict[str, str] = {
    "autocomplete": "skills.autocomplete:create",
    "translate": "skills.translate:create",
    "speech": "skills.speech:create",
    "memory": "skills.memory:create",
    "chat": "skills.chat:create",
    "voice": "skills.voice:create",
}


class Services:
    """Holds one Runtime and the skills built so far. Thread-safe; close() releases everything.

    It is the skills.host.SkillHost every skill's create() receives (the type checker holds it to
    that Protocol). `overrides` puts ready-made skills (fakes in tests) in place by name."""

    def __init__(
        self, config: Config, runtime: Runtime | None = None, overrides: dict[str, object] | None = None
    ) -> None:
        self.config = config
        self._runtime = runtime
        self._skills: dict[str, Any] = dict(overrides or {})
        self._mu = threading.RLock()

    @property
    def runtime(self) -> Runtime:
        with self._mu:
            if self._runtime is None:
                from runtime.runtime import Runtime

                self._runtime = Runtime(self.config)
            return self._runtime

    @property
    def runtime_started(self) -> bool:
        """Whether the runtime has been built (reading it would build it)."""
        return self._runtime is not None

    @overload
    def skill(self, name: Literal["autocomplete"]) -> Autocomplete: ...
    @overload
    def skill(self, name: Literal["translate"]) -> TranslateSkill: ...
    @overload
    def skill(self, name: Literal["speech"]) -> SpeechSkill: ...
    @overload
    def skill(self, name: Literal["memory"]) -> MemorySkill: ...
    @overload
    def skill(self, name: Literal["chat"]) -> ChatSkill: ...
    @overload
    def skill(self, name: Literal["voice"]) -> VoiceSkill: ...
    @overload
    def skill(self, name: str) -> object: ...
    def skill(self, name: str) -> Any:
        """Return the skill called name, building it on first use (typed per name for the skills
        listed in skills.host; any other registered name gives an object to narrow)."""
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
