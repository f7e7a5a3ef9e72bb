"""What connector tests import: the events a memory skill holds, for assertions."""

from __future__ import annotations

from typing import Any


def events_of(mem: Any, app: str | None = None) -> list[Any]:
    from skills.memory import BrowseOptions, Caller, Filters

    f = Filters(apps=(app,)) if app else Filters()
    return mem.browse(Caller.user(), BrowseOptions(filters=f, limit=1000))
