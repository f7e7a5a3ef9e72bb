"""The autocomplete skill: sessions, type-through, latency budget, KV switching, learning.

One request per keystroke. In order of cost:
1. type-through: the user typed what the session's prediction said; answer from the rest (~0 ms);
2. learned phrases, recent names, and completions of the word being typed from the document's
   words and the model's vocabulary (skills/autocomplete/lexicon.py), well under a millisecond;
3. the model, in practice at word boundaries: a worker thread generates a short continuation on the session's KV state; the
   request returns at a natural boundary or when the budget runs out (marked partial), and the
   worker goes on to the boundary so later keystrokes can type through it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Protocol

from runtime.errors import Busy

from runtime.engines.base import GenerationOptions, TextEngine
from skills.autocomplete.context import ContextProvider, NoContext
from skills.autocomplete.kvstate import Snapshot, common_prefix, kv_for
from skills.autocomplete.lexicon import Lexicon, complete_word, vocabulary_words, word_part
from skills.autocomplete.phrases import PhraseModel
from skills.autocomplete.session import Prediction, Session
from skills.autocomplete.text import line_prefix, suffix_window, window_start
from skills.autocomplete.types import (
    AutocompleteOptions,
    Kind,
    CompleteRequest,
    CompleteResult,
    Feedback,
    LearnReport,
    Suggestion,
)

if TYPE_CHECKING:
    from runtime.runtime import Runtime

log = logging.getLogger(__name__)
MODEL_SCORE = 0.5
# a snapshot is restored only when it saves more than this many tokens over the live cache
RESTORE_MARGIN = 8
LEASE_POLL = 0.05  # seconds between checks for staleness while waiting for the model


class EngineSource(Protocol):
    """What the skill needs from the runtime: a model id per role and exclusive engine leases."""

    def model_for(self, role: str) -> str: ...

    def use(self, model_id: str, timeout: float | None = None) -> AbstractContextManager[TextEngine]: ...


class RuntimeEngines:
    """EngineSource over runtime.runtime.Runtime (its scheduler queues and loads models)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def model_for(self, role: str) -> str:
        return self.runtime.model_for(role)

    def use(self, model_id: str, timeout: float | None = None) -> AbstractContextManager[TextEngine]:
        return self.runtime.scheduler.use(model_id, timeout)


class Autocomplete:
    """Keystroke-speed suggestions for prose and code; see the module docstring."""

    def __init__(
        self,
        engines: EngineSource,
        phrases: PhraseModel,
        options: AutocompleteOptions = AutocompleteOptions(),
        context: ContextProvider | None = None,
    ) -> None:
        self.engines = engines
        self.phrases = phrases
        self.options = options
        self.context: ContextProvider = context or NoContext()
        self._sessions: OrderedDict[tuple[str, str], Session] = OrderedDict()
        self._snapshots: OrderedDict[tuple[str, str], Snapshot] = OrderedDict()
        self._owner: dict[str, tuple[str, str]] = {}  # model id -> session whose KV is live
        self._mu = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._lexicons: dict[tuple[str, str], Lexicon] = {}  # (model id, kind) -> its vocabulary's words

    # -- requests -------------------------------------------------------------------------------------
    def complete(self, req: CompleteRequest) -> CompleteResult:
        """Return up to req.max_suggestions suggestions for the cursor, within the budget."""
        r = self.begin(req)
        return r if isinstance(r, CompleteResult) else r.result()

    def begin(self, req: CompleteRequest) -> CompleteResult | Pending:
        """Answer at once when no waiting is needed (type-through, instant sources), else return a
        Pending whose result() waits for the model within the budget. Never blocks, so a server
        can call it on its event loop and only hand real waits to a thread."""
        t0 = time.perf_counter()
        if req.sensitive or not req.prefix.strip() and not req.suffix.strip():
            return CompleteResult((), latency_ms=_ms(t0))
        o = self.options
        budget = (
            req.budget_ms
            if req.budget_ms is not None
            else (o.budget_ms_code if req.kind == "code" else o.budget_ms)
        )
        s = self._session(req.app, req.doc)
        with s.mu:
            p = s.current
            typed = p.typed(req) if p is not None else None
            if p is None or typed is None or p.exhausted(typed, req):
                if p is not None:
                    p.cancel()
                fresh = self._fresh(s, req, t0)
                if isinstance(fresh, CompleteResult):
                    return fresh
                return Pending(self, s, req, fresh, "", True, t0, t0 + budget / 1000)
            if typed and p.behind(typed):
                # typed ahead of a running generation: answer from the instant sources now, and
                # leave the generation running for the next keystrokes rather than wait for it (the
                # same position asked again, typed == "", waits for it within the budget instead)
                instant = self._instant(req)
                return CompleteResult(tuple(instant[: req.max_suggestions]), partial=True, latency_ms=_ms(t0))
        return Pending(self, s, req, p, typed, False, t0, t0 + budget / 1000)

    def _fresh(self, s: Session, req: CompleteRequest, t0: float) -> CompleteResult | Prediction:
        """With s.mu held: answer from the instant sources when they have something (the result),
        else start a model generation (its Prediction)."""
        instant = self._instant(req)
        if not instant:
            return self._start(s, req)
        top = instant[0]
        s.current = Prediction(req.prefix, req.suffix, req.kind, top.source, top.text, done=True)
        return CompleteResult(tuple(instant[: req.max_suggestions]), latency_ms=_ms(t0))

    def feedback(self, fb: Feedback) -> LearnReport:
        """Learn from an accepted suggestion; lower a rejected one. Sensitive text is refused."""
        if not fb.accepted:
            self.phrases.forget(fb.prefix, fb.text)
            return LearnReport(0, "rejected")
        return self.phrases.learn(fb.prefix, fb.text, sensitive=fb.sensitive)

    def learn_text(self, text: str, sensitive: bool = False) -> LearnReport:
        """Learn phrases from text the user opted in."""
        return self.phrases.learn_text(text, sensitive=sensitive)

    # -- sessions -----------------------------------------------------------------------------------------
    def _session(self, app: str, doc: str) -> Session:
        with self._mu:
            key = (app, doc)
            s = self._sessions.get(key)
            if s is None:
                s = self._sessions[key] = Session(app, doc)
                while len(self._sessions) > self.options.max_sessions:
                    old_key, old = self._sessions.popitem(last=False)
                    if old.current is not None:
                        old.current.cancel()
                    self._snapshots.pop(old_key, None)
            self._sessions.move_to_end(key)
            s.last_used = time.monotonic()
            return s

    def sessions(self) -> list[tuple[str, str]]:
        """Return the live sessions' (app, doc), least recently used first."""
        with self._mu:
            return list(self._sessions)

    # -- instant candidates and ranking ----------------------------------------------------------------------
    def _instant(self, req: CompleteRequest) -> list[Suggestion]:
        """Learned phrases, recent names and completions of the word being typed that fit now,
        best first (no model involved)."""
        out: list[Suggestion] = []
        part = word_part(req.prefix, req.kind)
        if req.kind == "prose":
            for text, count in self.phrases.suggest(
                req.prefix, self.options.min_phrase_count, req.max_suggestions
            ):
                out.append(Suggestion(text, "phrase", 0.6 + 0.05 * min(count, 6)))
            if part[:1].isupper():
                for name in self.context.recent_names(req.app):
                    if name.startswith(part) and len(name) > len(part):
                        out.append(Suggestion(name[len(part) :], "name", 0.55))
        if self.options.word_completion and part:
            lexicon = self._lexicons.get((self._model_id(req.kind), req.kind))
            seen = {x.text for x in out}
            for i, text in enumerate(
                complete_word(
                    part,
                    req.kind,
                    req.prefix,
                    req.suffix,
                    lexicon,
                    req.max_suggestions,
                    self.options.keep_finished_words,
                )
            ):
                if text not in seen:
                    out.append(Suggestion(text, "word", 0.45 - 0.01 * i))
        return sorted(out, key=lambda x: -x.score)

    def _rank(self, req: CompleteRequest, text: str, source: str) -> list[Suggestion]:
        """Merge the model's suggestion with learned phrases: a phrase seen before that agrees with
        the model raises it; phrases seen once come after it as alternatives."""
        out: list[Suggestion] = []
        learned = self.phrases.suggest(req.prefix, 1, req.max_suggestions) if req.kind == "prose" else []
        score = MODEL_SCORE
        for phrase, count in learned:
            if text and (phrase.startswith(text) or text.startswith(phrase)):
                score += 0.1 * min(count, 3)
        if text:
            out.append(Suggestion(text, source, score))  # type: ignore[arg-type]
        for phrase, count in learned:
            if phrase != text:
                out.append(Suggestion(phrase, "phrase", 0.3 + 0.05 * min(count, 4)))
        return sorted(out, key=lambda x: -x.score)

    # -- generation ---------------------------------------------------------------------------------------------
    def _start(self, s: Session, req: CompleteRequest) -> Prediction:
        """Start a model generation for req in a worker thread; return its Prediction."""
        o = self.options
        code = req.kind == "code"
        model_id = self._model_id(req.kind)
        s.window = window_start(
            req.prefix,
            s.window if s.model_id == model_id else None,
            o.window_chars_code if code else o.window_chars_prose,
        )
        s.model_id = model_id
        p = Prediction(req.prefix, req.suffix, req.kind)
        s.current = p
        lp = line_prefix(req.prefix)
        stop = ("\n",) if not code or lp.strip() else ("\n\n",)
        gen = GenerationOptions(
            max_tokens=o.max_tokens_code if code else o.max_tokens_prose,
            temperature=0.0,
            stop=stop,
            truncation="truncate_start",
        )
        body, suffix = req.prefix[s.window :], suffix_window(req.suffix, o.suffix_chars) if code else ""
        t = threading.Thread(
            target=self._run,
            args=(s.key, p, model_id, body, suffix, code, gen),
            name=f"autocomplete-{s.app}",
            daemon=True,
        )
        with self._mu:
            self._workers = {w for w in self._workers if w.is_alive()}
            self._workers.add(t)
        t.start()
        return p

    def _model_id(self, kind: str) -> str:
        o = self.options
        if kind == "code":
            return o.code_model or self.engines.model_for("fim")
        return o.prose_model or self.engines.model_for("autocomplete")

    def _run(
        self,
        key: tuple[str, str],
        p: Prediction,
        model_id: str,
        body: str,
        suffix: str,
        code: bool,
        gen: GenerationOptions,
    ) -> None:
        try:
            with self._lease(model_id, p) as engine:
                if engine is None or p.stale:
                    p.finish(None)
                    return
                kind: Kind = "code" if code else "prose"
                if (model_id, kind) not in self._lexicons and self.options.word_completion:
                    self._lexicons[(model_id, kind)] = Lexicon(
                        vocabulary_words(engine, kind)
                    )  # once per model
                fim = code and engine.supports_fim
                prompt = engine.fim_prompt(body, suffix) if fim else body
                self._switch(engine, model_id, key, prompt)
                stream = engine.stream(prompt, gen, p.stop)
                while True:
                    try:
                        ev = next(stream)
                    except StopIteration as stop:
                        p.finish(stop.value)
                        break
                    p.add(ev.text)
        except Exception as exc:  # the request thread reports nothing; log and end the prediction
            log.warning("autocomplete generation on %s failed: %s", model_id, exc)
            p.finish(None, exc)

    @contextmanager
    def _lease(self, model_id: str, p: Prediction) -> Iterator[Any]:
        """Yield the engine, or None once p goes stale while waiting: a stale request must not
        keep its place in the model's queue (under load, typing would pile up dozens)."""
        deadline = time.monotonic() + self.options.queue_timeout
        entered = False
        while True:
            try:
                with self.engines.use(model_id, LEASE_POLL) as engine:
                    entered = True
                    yield engine
                    return
            except Busy:
                if entered:
                    raise
                if p.stale:
                    yield None
                    return
                if time.monotonic() > deadline:
                    raise

    def _switch(self, engine: Any, model_id: str, key: tuple[str, str], prompt: str) -> None:
        """Make the engine's KV cache this session's, saving the previous session's first."""
        owner = self._owner.get(model_id)
        self._owner[model_id] = key
        if owner == key:
            return
        kv = kv_for(engine)
        if owner is not None:
            snap = kv.snapshot(engine)
            if snap is not None:
                with self._mu:
                    self._snapshots[owner] = snap
                    self._snapshots.move_to_end(owner)
                    while len(self._snapshots) > self.options.max_snapshots:
                        self._snapshots.popitem(last=False)
        with self._mu:
            mine = self._snapshots.get(key)
        if mine is None:
            return
        tokens = engine.tokenize(prompt, special=True)
        if (
            common_prefix(mine.tokens, tokens)
            > common_prefix(kv.live_tokens(engine), tokens) + RESTORE_MARGIN
        ):
            kv.restore(engine, mine)

    def close(self) -> None:
        """Cancel running generations, wait for their workers, and close the phrase model."""
        with self._mu:
            sessions, workers = list(self._sessions.values()), list(self._workers)
            self._sessions.clear()
            self._snapshots.clear()
        for s in sessions:
            if s.current is not None:
                s.current.cancel()
        for w in workers:
            w.join(timeout=5)
        self.phrases.close()


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


class Pending:
    """A keystroke whose answer depends on a running generation (see Autocomplete.begin)."""

    def __init__(
        self,
        ac: Autocomplete,
        s: Session,
        req: CompleteRequest,
        p: Prediction,
        typed: str,
        started: bool,
        t0: float,
        deadline: float,
    ) -> None:
        self.ac, self.s, self.req, self.p, self.typed = ac, s, req, p, typed
        self.started, self.t0, self.deadline = started, t0, deadline

    def ready(self) -> bool:
        """Whether result() would return without waiting."""
        text, final = self.p.remainder(self.typed, self.req)
        return final or self.p.stale or bool(self.typed and text)

    def result(self) -> CompleteResult:
        """Wait until the suggestion is final or the budget ends; return the ranked answer."""
        s, req, p, typed, started = self.s, self.req, self.p, self.typed, self.started
        text, final = p.wait(typed, req, self.deadline)
        source = "model" if started else ("type_through" if typed else p.source)
        ranked = self.ac._rank(req, text, source)
        st = p.stats if started and p.done else None
        return CompleteResult(
            tuple(ranked[: req.max_suggestions]),
            partial=not final and not p.stale,
            cancelled=p.stale,
            model_called=started,
            model_id=s.model_id if started else None,
            prompt_tokens=st.prompt_tokens if st else 0,
            cached_tokens=st.cached_tokens if st else 0,
            evaluated_prompt_tokens=st.evaluated_prompt_tokens if st else 0,
            latency_ms=_ms(self.t0),
        )
