"""What a skill's `create(host)` may use: the settings, the runtime, and the other skills, typed.

`assistant.services.Services` is the host every front door passes; skills cannot import it (the
layers run assistant > skills > runtime), so they name this Protocol instead and the type checker
holds Services to it. Skill classes are named for the checker only: nothing here imports a skill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol, overload

if TYPE_CHECKING:
    from runtime.config import Config
    from runtime.runtime import Runtime
    from skills.autocomplete.skill import Autocomplete
    from skills.chat import ChatSkill
    from skills.memory.skill import MemorySkill
    from skills.speech import SpeechSkill
    from skills.translate import TranslateSkill
    from skills.voice import VoiceSkill

SkillName = Literal["autocomplete", "translate", "speech", "memory", "chat", "voice"]


class SkillHost(Protocol):
    """Config, runtime and the skills built lazily by name (see assistant.services.SKILLS)."""

    @property
    def config(self) -> Config: ...

    @property
    def runtime(self) -> Runtime: ...

    def has(self, name: str) -> bool:
        """Whether the skill called name has been built already (asking for it would build it)."""
        ...

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
    def skill(self, name: SkillName) -> object:
        """Return the skill called name, building it on first use."""
        ...
