"""The narrow interface through which memory may add context (recent names); optional."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable


@runtime_checkable
class ContextProvider(Protocol):
    """Gives autocomplete a little context from cross-app memory."""

    def recent_names(self, app: str) -> list[str]:
        """Return names (people, places, projects) the user mentioned recently, most recent first."""
        ...


class NoContext:
    """Used when memory is absent or off: autocomplete works the same, minus names."""

    def recent_names(self, app: str) -> list[str]:
        return []


class StaticContext:
    """A fixed list of names, for tests and demos."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)

    def recent_names(self, app: str) -> list[str]:
        return list(self.names)
