"""Requests, results, options and errors of the autocomplete skill (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from runtime.errors import AssistantError

Kind = Literal["prose", "code"]
Source = Literal["model", "type_through", "phrase", "name", "word"]


class AutocompleteError(AssistantError):
    code = "autocomplete_error"


@dataclass(frozen=True)
class CompleteRequest:
    """One keystroke's request.

    app, doc: identify the session; each (app, doc) keeps its own KV state and suggestion.
    prefix: all text before the cursor. suffix: text after it (used for code FIM).
    kind: "prose" (small model) or "code" (fill-in-the-middle on the code model).
    budget_ms: latency budget; when it runs out the best text so far is returned, marked partial.
        None means the skill's default.
    max_suggestions: how many alternatives to return at most.
    sensitive: the app flags this field as a password or similar: nothing is suggested or learned.
    """

    prefix: str
    suffix: str = ""
    kind: Kind = "prose"
    app: str = "cli"
    doc: str = "default"
    budget_ms: float | None = None
    max_suggestions: int = 3
    sensitive: bool = False


@dataclass(frozen=True)
class Suggestion:
    """One candidate: text to insert at the cursor, where it came from, and a ranking score."""

    text: str
    source: Source
    score: float


@dataclass(frozen=True)
class CompleteResult:
    """The answer to one keystroke.

    suggestions: best first (may be empty).
    partial: the budget ran out before the model reached a natural boundary; generation goes on in
        the background and later keystrokes that follow it are answered from it (type-through).
    cancelled: a newer keystroke in the same session made this request stale.
    model_called: whether this request started a model generation.
    prompt_tokens / cached_tokens / evaluated_prompt_tokens: from the model call this request
        started, when it finished within the budget (else 0), to show KV reuse.
    latency_ms: time spent inside the skill.
    """

    suggestions: tuple[Suggestion, ...]
    partial: bool = False
    cancelled: bool = False
    model_called: bool = False
    model_id: str | None = None
    prompt_tokens: int = 0
    cached_tokens: int = 0
    evaluated_prompt_tokens: int = 0
    latency_ms: float = 0.0

    @property
    def text(self) -> str:
        """The top suggestion's text, or ""."""
        return self.suggestions[0].text if self.suggestions else ""


@dataclass(frozen=True)
class Feedback:
    """The user accepted (or rejected) a suggestion shown after `prefix` in a session."""

    prefix: str
    text: str
    accepted: bool = True
    app: str = "cli"
    doc: str = "default"
    sensitive: bool = False


@dataclass(frozen=True)
class AutocompleteOptions:
    """Tuning of the skill; the defaults target a 2-core CPU with SmolLM2-135M.

    prose_model / code_model: model ids; None means the runtime's "autocomplete" / "fim" roles.
    budget_ms: default latency budget per prose request; budget_ms_code: per code request (the code
        model is ~4x bigger, and editors allow far more).
    word_completion: complete the word being typed from the document and the vocabulary without
        calling the model (see lexicon.py).
    keep_finished_words: in prose, do not extend a typed word that is itself more frequent than its
        completions ("send me" is finished; "method" would be a wrong guess).
    max_tokens_prose / max_tokens_code: generation length; short suggestions keep latency low.
    window_chars_prose / window_chars_code: at most this much text before the cursor goes into the
        prompt; the window start only moves when it must, so consecutive prompts share a prefix.
    suffix_chars: at most this much text after the cursor goes into a FIM prompt.
    max_sessions: live sessions kept (least recently used dropped first).
    max_snapshots: KV snapshots kept for sessions that share one model (each a few MB).
    min_phrase_count: a learned phrase is offered once it has been seen this often.
    queue_timeout: seconds a generation may wait for its model.
    """

    prose_model: str | None = None
    code_model: str | None = None
    budget_ms: float = 20.0
    budget_ms_code: float = 80.0
    word_completion: bool = True
    keep_finished_words: bool = True
    max_tokens_prose: int = 8
    max_tokens_code: int = 16
    window_chars_prose: int = 800
    window_chars_code: int = 1500
    suffix_chars: int = 200
    max_sessions: int = 32
    max_snapshots: int = 8
    min_phrase_count: int = 2
    queue_timeout: float = 10.0
    db_path: str | None = None


@dataclass(frozen=True)
class Phrase:
    """A learned phrase: after `context` (last words, lower-cased) the user wrote `text`."""

    context: str
    text: str
    count: int
    last_used: float


@dataclass(frozen=True)
class LearnReport:
    """What a learn call did: phrases stored, and why nothing was stored when so."""

    stored: int
    skipped_reason: str | None = None
