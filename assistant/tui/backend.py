"""The TUI's service layer: every bit of I/O the screens need goes through a Backend.

`LocalBackend` runs the runtime in-process (through assistant.services.Services). Screens call
these methods from worker threads, never from the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol, Sequence

from assistant.config import Config
from assistant.services import Services
from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ModelRow:
    """One line of the models table."""

    id: str
    format: str
    roles: tuple[str, ...]
    size: int | None
    installed: bool
    source: str


class Backend(Protocol):
    """What the screens may ask for."""

    config: Config

    def describe(self) -> str: ...

    def warm(self, role: str) -> str: ...

    def chat(self, messages: Sequence[ChatMessage], cancel: CancelToken) -> Iterator[str]: ...

    def suggest(self, app: str, doc: str, prefix: str, suffix: str = "", kind: str = "prose") -> str | None: ...

    def models(self) -> list[ModelRow]: ...

    def pull(self, model_id: str, progress: Progress) -> str: ...

    def add(self, path: str, progress: Progress) -> str: ...

    def devices(self) -> list[tuple[str, str, str]]: ...

    def loaded(self) -> list[tuple[str, str, int]]: ...

    def skill(self, name: str) -> Any: ...

    def close(self) -> None: ...


class LocalBackend:
    """Backend over an in-process runtime."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.config = services.config

    def describe(self) -> str:
        return "in-process runtime"

    @property
    def runtime(self) -> Any:
        return self.services.runtime

    def warm(self, role: str) -> str:
        """Load the model serving role (so the first reply is fast); return its id."""
        model_id = self.runtime.model_for(role)
        self.runtime.store.ensure(model_id)
        with self.runtime.scheduler.use(model_id):
            pass
        return str(model_id)

    def chat(self, messages: Sequence[ChatMessage], cancel: CancelToken) -> Iterator[str]:
        opts = GenerationOptions(max_tokens=512, temperature=0.3, truncation="truncate_start")
        for ev in self.runtime.chat(messages, opts, cancel=cancel):
            yield ev.text

    def suggest(self, app: str, doc: str, prefix: str, suffix: str = "", kind: str = "prose") -> str | None:
        """Return the text to insert after prefix, or None. Uses the autocomplete skill."""
        try:
            skill = self.services.skill("autocomplete")
        except ModuleNotFoundError:
            return None
        return _suggest_with(skill, app, doc, prefix, suffix, kind)

    def models(self) -> list[ModelRow]:
        store = self.runtime.store
        installed = {m.id: m for m in store.list()}
        rows = []
        for mid, man in sorted(store.catalog.items()):
            inst = installed.pop(mid, None)
            rows.append(ModelRow(mid, man.format, tuple(man.roles), man.size, inst is not None,
                                 inst.source if inst else "catalog"))
        for mid, inst in sorted(installed.items()):
            rows.append(ModelRow(mid, inst.format, tuple(inst.roles), inst.size, True, inst.source))
        return rows

    def pull(self, model_id: str, progress: Progress) -> str:
        m = self.runtime.store.ensure(model_id, progress=progress)
        return f"{m.id} installed and verified"

    def add(self, path: str, progress: Progress) -> str:
        from pathlib import Path

        m = self.runtime.store.add(Path(path).expanduser(), progress=progress)
        return f"added {m.id} ({m.format})"

    def devices(self) -> list[tuple[str, str, str]]:
        """(engine family, chosen device, why) for each family."""
        return [(fam, p.primary.device, "; ".join(p.primary.reasons)) for fam, p in self.runtime.plans.items()]

    def loaded(self) -> list[tuple[str, str, int]]:
        """(model id, device, bytes) for each loaded model."""
        return [(m.model_id, m.device, m.memory_bytes) for m in self.runtime.scheduler.loaded()]

    def skill(self, name: str) -> Any:
        return self.services.skill(name)

    def close(self) -> None:
        self.services.close()


def _suggest_with(skill: Any, app: str, doc: str, prefix: str, suffix: str, kind: str) -> str | None:
    """Adapter from the autocomplete skill's API to the plain text the ghost widgets show."""
    suggest = getattr(skill, "suggest_text", None)
    if callable(suggest):
        return suggest(app=app, doc=doc, prefix=prefix, suffix=suffix, kind=kind)
    return None
