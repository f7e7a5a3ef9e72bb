"""Offline autocomplete at keystroke speed, for prose and code, learning on the device only.

Public API: `create(services)` builds the skill; `Autocomplete.complete(CompleteRequest)` answers
a keystroke; `Autocomplete.feedback(Feedback)` learns from accepted suggestions; the phrase model
(`skill.phrases`) can be viewed, paused and cleared.
"""

from __future__ import annotations

from pathlib import Path

from runtime.config import Config
from skills.autocomplete.context import ContextProvider, NoContext, StaticContext
from skills.autocomplete.phrases import PhraseModel
from skills.autocomplete.skill import Autocomplete, EngineSource, RuntimeEngines
from skills.autocomplete.types import (
    AutocompleteError,
    AutocompleteOptions,
    CompleteRequest,
    CompleteResult,
    Feedback,
    LearnReport,
    Phrase,
    Suggestion,
)
from skills.host import SkillHost

__all__ = [
    "Autocomplete",
    "AutocompleteError",
    "AutocompleteOptions",
    "CompleteRequest",
    "CompleteResult",
    "ContextProvider",
    "EngineSource",
    "Feedback",
    "LearnReport",
    "NoContext",
    "Phrase",
    "PhraseModel",
    "RuntimeEngines",
    "StaticContext",
    "Suggestion",
    "create",
    "phrase_db_path",
]


def phrase_db_path(config: Config) -> Path:
    """Return where the phrase model lives for this config."""
    return config.data_dir / "autocomplete" / "phrases.sqlite"


class _MemoryNames:
    """Names from the memory skill when it is running and offers them; nothing otherwise.

    Autocomplete never starts memory itself: that would load an embedder on a keystroke."""

    def __init__(self, services: SkillHost) -> None:
        self.services = services

    def recent_names(self, app: str) -> list[str]:
        if not self.services.has("memory"):
            return []
        fn = getattr(self.services.skill("memory"), "recent_names", None)
        if not callable(fn):
            return []
        try:
            return list(fn(app))
        except Exception:  # memory is optional; a failure there must not break typing
            return []


def create(services: SkillHost, options: AutocompleteOptions = AutocompleteOptions()) -> Autocomplete:
    """Build the skill over the services' runtime, with the phrase model in the data folder."""
    path = options.db_path or phrase_db_path(services.config)
    return Autocomplete(RuntimeEngines(services.runtime), PhraseModel(path), options, _MemoryNames(services))
