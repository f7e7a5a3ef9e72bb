"""CTranslate2 + sentencepiece: OPUS-MT/Marian folders and Argos Translate `.argosmodel` packages.

The store unpacks an .argosmodel flat (the CTranslate2 files at the top, `sentencepiece.model`
beside them); an OPUS-MT conversion carries `source.spm` and `target.spm` instead.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Sequence

from skills.translate.base import Quality, TranslateError

_PAIR = re.compile(r"(?:^|[-_.])([a-z]{2,3})[-_]([a-z]{2,3})$")


def directions_of(model_id: str, recorded: Sequence[str]) -> tuple[str, ...]:
    """Return a model's directions: as recorded by the store, else read from an id like opus-mt-en-de."""
    if recorded:
        return tuple(recorded)
    m = _PAIR.search(model_id)
    return (f"{m.group(1)}-{m.group(2)}",) if m else ()


class CT2Translator:
    """One CTranslate2 translation model with its sentencepiece tokenizer(s)."""

    quality: Quality = "high"

    def __init__(
        self,
        model_id: str,
        folder: Path,
        directions: Sequence[str],
        plan: Any,
        beam_size: int = 2,
        max_decoding_length: int = 256,
    ) -> None:
        self.name = f"ct2:{model_id}"
        self.model_id = model_id
        self.folder = Path(folder)
        self.directions = tuple(directions)
        self.plan = plan
        self.beam_size = beam_size
        self.max_decoding_length = max_decoding_length
        self.report: Any = None
        self._translator: Any = None
        self._sp: tuple[Any, Any] | None = None
        self._mu = threading.Lock()

    def _load(self) -> tuple[Any, Any, Any]:
        with self._mu:
            if self._translator is None:
                try:
                    import ctranslate2
                    import sentencepiece
                except ImportError as e:
                    raise TranslateError(
                        f"CTranslate2 translation needs {e.name}",
                        "run `pip install ctranslate2 sentencepiece`",
                    ) from None
                from runtime.loading import load_with_fallback

                src, tgt = self._spm_files()
                self._sp = (
                    sentencepiece.SentencePieceProcessor(model_file=str(src)),
                    sentencepiece.SentencePieceProcessor(model_file=str(tgt)),
                )

                def attempt(cand: Any) -> Any:
                    return ctranslate2.Translator(
                        str(self.folder),
                        device=cand.device,
                        compute_type=cand.compute_type,
                        inter_threads=1,
                        intra_threads=cand.threads,
                    )

                self._translator, self.report = load_with_fallback(self.model_id, self.plan, attempt)
            assert self._sp is not None
            return self._translator, self._sp[0], self._sp[1]

    def _spm_files(self) -> tuple[Path, Path]:
        one = self.folder / "sentencepiece.model"
        if one.is_file():
            return one, one
        src, tgt = self.folder / "source.spm", self.folder / "target.spm"
        if src.is_file() and tgt.is_file():
            return src, tgt
        raise TranslateError(
            f"model {self.model_id} has no sentencepiece model",
            "add the .argosmodel again, or put source.spm and target.spm in the folder",
        )

    def translate_batch(self, texts: Sequence[str], direction: str) -> list[str]:
        if not texts:
            return []
        translator, sp_src, sp_tgt = self._load()
        tokens = [sp_src.encode(t, out_type=str) for t in texts]
        results = translator.translate_batch(
            tokens,
            beam_size=self.beam_size,
            max_batch_size=32,
            max_decoding_length=self.max_decoding_length,
        )
        return [sp_tgt.decode(r.hypotheses[0]).strip() for r in results]

    def close(self) -> None:
        with self._mu:
            self._translator = None
