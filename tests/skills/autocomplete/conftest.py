"""Fixtures for autocomplete: a skill over fake engines (through the real scheduler), and one over
the session's real runtime, each with its own phrase model file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from runtime.engines.fake import FakeTextEngine
from runtime.scheduler import Scheduler
from skills.autocomplete import Autocomplete, AutocompleteOptions, PhraseModel, RuntimeEngines


class FakeEngines:
    """EngineSource over the real Scheduler, loading a FakeTextEngine per model id."""

    def __init__(self, engines: dict[str, FakeTextEngine]) -> None:
        self.engines = engines
        self.scheduler = Scheduler({mid: (lambda m: (engines[m], engines[m].report)) for mid in engines})

    def model_for(self, role: str) -> str:
        return "fake-code" if role == "fim" else "fake-prose"

    def use(self, model_id: str, timeout: float | None = None) -> Any:
        return self.scheduler.use(model_id, timeout)


@pytest.fixture
def make_fake(tmp_path: Path) -> Iterator[Callable[..., Autocomplete]]:
    """Build an Autocomplete over fake engines: make_fake(reply=..., token_delay=..., **options)."""
    built: list[Autocomplete] = []

    def make(reply: str | None = None, token_delay: float = 0.0, **options: Any) -> Autocomplete:
        engines = {
            "fake-prose": FakeTextEngine("fake-prose", reply=reply, token_delay=token_delay),
            "fake-code": FakeTextEngine("fake-code", reply=reply, token_delay=token_delay),
        }
        # fake tokens are characters, so allow as many as a real model spends on a phrase
        opts = AutocompleteOptions(
            **{"budget_ms": 2000.0, "max_tokens_prose": 64, "max_tokens_code": 64, **options}
        )
        ac = Autocomplete(FakeEngines(engines), PhraseModel(tmp_path / f"phrases{len(built)}.sqlite"), opts)
        built.append(ac)
        return ac

    yield make
    for ac in built:
        ac.close()


@pytest.fixture
def real_ac(real_runtime: Any, smollm_id: str, tmp_path: Path) -> Iterator[Autocomplete]:
    """The skill over the shared real runtime (models already loaded), generous budget so the
    assertions are about content, not this machine's load. Word completion is off so that every
    request exercises the model path (real_ac_words has it on)."""
    ac = Autocomplete(
        RuntimeEngines(real_runtime),
        PhraseModel(tmp_path / "phrases.sqlite"),
        AutocompleteOptions(budget_ms=120000.0, budget_ms_code=120000.0, word_completion=False),
    )
    yield ac
    ac.close()


@pytest.fixture
def real_ac_words(real_runtime: Any, smollm_id: str, tmp_path: Path) -> Iterator[Autocomplete]:
    """The skill over the real runtime with its default word completion."""
    ac = Autocomplete(
        RuntimeEngines(real_runtime),
        PhraseModel(tmp_path / "phrases-w.sqlite"),
        AutocompleteOptions(budget_ms=120000.0, budget_ms_code=120000.0),
    )
    yield ac
    ac.close()
