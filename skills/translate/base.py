"""The Translator protocol, its options and results, the translate errors, and a fake engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, Sequence, runtime_checkable

from runtime.errors import AssistantError

Quality = Literal["high", "lower"]


class TranslateError(AssistantError):
    code = "translate_error"


class UnsupportedPair(TranslateError):
    """No installed model (and no allowed fallback) translates this pair."""

    code = "unsupported_pair"


@runtime_checkable
class Translator(Protocol):
    """One loaded translation engine: a fixed set of directions such as "en-pt"."""

    name: str  # "bergamot", "ct2:<model id>", "llm:<model id>"
    quality: Quality
    directions: tuple[str, ...]  # ("en-pt", ...); ("*",) means any pair (the LLM)

    def translate_batch(self, texts: Sequence[str], direction: str) -> list[str]:
        """Return one translation per input sentence, in order."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class TranslateOptions:
    """What to translate into and how.

    source: language code of the input, or "auto" to detect it.
    target: language code to translate into.
    engine: force one engine by name prefix ("bergamot", "ct2", "llm"); None picks the best route.
    allow_llm: use the default chat model for pairs no dedicated model covers (lower quality).
    batch_size: sentences sent to an engine at once.
    use_cache: reuse earlier translations of identical sentences.
    """

    source: str = "auto"
    target: str = "en"
    engine: str | None = None
    allow_llm: bool = True
    batch_size: int = 16
    use_cache: bool = True


@dataclass(frozen=True)
class Hop:
    """One step of a route: an engine and the direction it translates."""

    engine: str
    direction: str
    quality: Quality


@dataclass(frozen=True)
class Detection:
    """A detected language with a confidence in [0, 1]."""

    language: str
    confidence: float


@dataclass(frozen=True)
class TranslationChunk:
    """One finished piece of output, streamed as soon as its sentence is done.

    text: the translated sentence, or markup/whitespace kept verbatim (translated=False).
    source_text: the input piece it came from.
    """

    index: int
    text: str
    source_text: str
    translated: bool
    cached: bool = False


@dataclass(frozen=True)
class TranslationResult:
    """A whole translation with the route it took.

    quality: "lower" when any hop used the LLM fallback; front ends show it.
    detected: the detected source language when source was "auto".
    """

    text: str
    source: str
    target: str
    route: tuple[Hop, ...]
    quality: Quality
    detected: Detection | None
    sentences: int
    cached_sentences: int
    seconds: float
    chunks: tuple[TranslationChunk, ...] = field(default=(), repr=False)

    @property
    def engine(self) -> str:
        """Return the engines used, joined with '+' (e.g. "ct2:de-en+bergamot")."""
        return "+".join(h.engine for h in self.route) or "none"


class FakeTranslator:
    """A deterministic engine for logic tests: "[en-pt] text" for every sentence, and a call log."""

    def __init__(
        self, name: str = "fake", directions: Sequence[str] = ("en-pt", "pt-en"), quality: Quality = "high"
    ) -> None:
        self.name = name
        self.quality: Quality = quality
        self.directions = tuple(directions)
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def translate_batch(self, texts: Sequence[str], direction: str) -> list[str]:
        self.calls.append((direction, tuple(texts)))
        return [f"[{direction}] {t}" for t in texts]

    def close(self) -> None:
        pass
