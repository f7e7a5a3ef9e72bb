"""Offline language detection with py3langid.

Why py3langid (pin py3langid==0.4.0): it is a maintained fork of langid.py, a naive-Bayes model
over byte n-grams for 97 languages in one 4.6 MB wheel that needs only numpy (already here).
It classifies a sentence in well under a millisecond after a one-time load of about a second.
The alternatives cost more for this job: lingua is more accurate on very short text but its wheel
with all models is well over 100 MB and slower; fastText-based detectors download their model
at run time, which this offline runtime cannot do; langdetect is unmaintained and random
unless seeded. Restricting the candidates to the languages a route exists for (see `detect`)
recovers most of the short-text accuracy lingua would add.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

from skills.translate.base import Detection, TranslateError


class LanguageDetector:
    """Detects the language of a text; the model loads on first use and is shared by threads."""

    def __init__(self) -> None:
        self._model: Any = None
        self._mu = threading.Lock()

    def _identifier(self) -> Any:
        with self._mu:
            if self._model is None:
                try:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier
                except ImportError:
                    raise TranslateError(
                        "language detection needs the py3langid package",
                        "run `pip install py3langid==0.4.0`, or pass --from",
                    ) from None
                self._model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            return self._model

    @property
    def languages(self) -> tuple[str, ...]:
        """Return every language code the model knows."""
        return tuple(self._identifier().nb_classes)

    def rank(self, text: str, candidates: Sequence[str] | None = None, top: int = 3) -> list[Detection]:
        """Return the likeliest languages for text, best first, optionally among candidates only."""
        model = self._identifier()
        ranked = model.rank(text)
        if candidates:
            allowed = set(candidates)
            ranked = [(lang, p) for lang, p in ranked if lang in allowed]
            total = sum(p for _, p in ranked) or 1.0
            ranked = [(lang, p / total) for lang, p in ranked]
        return [Detection(str(lang), round(float(p), 4)) for lang, p in ranked[:top]]

    def detect(self, text: str, candidates: Sequence[str] | None = None) -> Detection:
        """Return the likeliest language of text; raises if the text has no letters."""
        if not any(ch.isalpha() for ch in text):
            raise TranslateError("cannot detect the language of text with no letters", "pass --from LANG")
        return self.rank(text, candidates, top=1)[0]
