"""Engine protocols per family, with their options and results as frozen dataclasses."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Generator, Iterator, Literal, Mapping, Protocol, Sequence, runtime_checkable

TruncationPolicy = Literal["error", "truncate_start"]


@dataclass(frozen=True)
class ChatMessage:
    """One chat turn."""

    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    """How to sample and when to stop.

    max_tokens: upper bound on generated tokens.
    temperature: 0 means greedy (deterministic).
    stop: strings that end generation; they are not included in the output.
    grammar: a GBNF grammar constraining the output.
    json_schema: a JSON schema constraining the output (turned into a grammar).
    truncation: what to do when the prompt plus max_tokens exceeds the context:
        "error" raises ContextOverflow; "truncate_start" drops the oldest prompt tokens
        and reports how many in the result.
    seed: sampling seed, for repeatable runs at temperature > 0.
    """

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.0
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    json_schema: Mapping[str, Any] | None = None
    truncation: TruncationPolicy = "error"
    seed: int | None = None


@dataclass(frozen=True)
class TokenEvent:
    """A piece of streamed text. `text` may hold several tokens' bytes once they decode."""

    text: str
    token_count: int  # tokens generated so far


@dataclass(frozen=True)
class GenerationStats:
    """Honest numbers for one generation."""

    prompt_tokens: int
    cached_tokens: int  # prompt tokens whose KV state was reused, not evaluated
    evaluated_prompt_tokens: int
    completion_tokens: int
    truncated_tokens: int  # prompt tokens dropped under truncation="truncate_start"
    prompt_seconds: float
    time_to_first_token: float
    generation_seconds: float
    finish_reason: str  # "stop" | "length" | "cancelled"

    @property
    def prompt_tokens_per_second(self) -> float:
        return self.evaluated_prompt_tokens / self.prompt_seconds if self.prompt_seconds > 0 else 0.0

    @property
    def tokens_per_second(self) -> float:
        # decode speed after the first token: what a reader perceives while text streams
        n = self.completion_tokens - 1
        t = self.generation_seconds - self.time_to_first_token
        return n / t if n > 0 and t > 0 else 0.0


TokenStream = Generator[TokenEvent, None, GenerationStats]
"""What a text engine's stream() returns: it yields TokenEvents and returns the GenerationStats."""


@dataclass(frozen=True)
class Completion:
    """A finished generation."""

    text: str
    stats: GenerationStats


@dataclass
class CancelToken:
    """Shared flag a caller sets to stop a generation at the next token step."""

    _event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class LoadAttempt:
    """One try at loading a model on one device."""

    device: str
    ok: bool
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class LoadReport:
    """Which device a model ended up on, why, and what was tried before it."""

    model_id: str
    device: str
    reasons: tuple[str, ...]
    attempts: tuple[LoadAttempt, ...]
    seconds: float
    memory_bytes: int

    @property
    def fell_back(self) -> bool:
        return len(self.attempts) > 1


@runtime_checkable
class TextEngine(Protocol):
    """A loaded text-generation model (GGUF through llama.cpp, or the fake)."""

    model_id: str
    report: LoadReport

    @property
    def n_ctx(self) -> int: ...

    @property
    def supports_fim(self) -> bool: ...

    def tokenize(self, text: str, special: bool = False) -> list[int]: ...

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, prompt: str, options: GenerationOptions = ..., cancel: CancelToken | None = None
    ) -> TokenStream:
        """Yield text pieces; the generator's return value is the GenerationStats."""
        ...

    def complete(
        self, prompt: str, options: GenerationOptions = ..., cancel: CancelToken | None = None
    ) -> Completion: ...

    def chat_prompt(self, messages: Sequence[ChatMessage]) -> tuple[str, tuple[str, ...]]:
        """Return the prompt rendered with the model's chat template, and its stop strings."""
        ...

    def fim_prompt(self, prefix: str, suffix: str) -> str: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class TtsOptions:
    """How to speak.

    speed: 1.0 is the voice's own pace; 2.0 twice as fast (0.25-4.0, as OpenAI's `speed`).
    speaker: speaker index for multi-speaker voices (None: the voice's default).
    volume: multiplier on the normalised samples.
    """

    speed: float = 1.0
    speaker: int | None = None
    volume: float = 1.0


@dataclass(frozen=True)
class SpeechChunk:
    """The audio of one sentence: float32 mono samples in [-1, 1]."""

    text: str
    samples: Any  # numpy float32 array, shape (n,)
    sample_rate: int
    seconds: float  # compute seconds it took

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


@runtime_checkable
class TtsEngine(Protocol):
    """A loaded text-to-speech voice (Piper on onnxruntime, or the fake)."""

    model_id: str
    report: LoadReport
    sample_rate: int

    def synthesize(self, text: str, options: TtsOptions = ...) -> Iterator[SpeechChunk]:
        """Yield one chunk per sentence, each as soon as it is synthesised."""
        ...

    def close(self) -> None: ...
