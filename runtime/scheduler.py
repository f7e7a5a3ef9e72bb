"""Loads models on demand, keeps them warm, evicts by LRU under a memory budget, and queues
requests per model so that concurrent callers never share a context.

Engines are built by injected loaders (one per model format), so tests run the real
scheduling logic against fake engines.

A lease is the `with use(model_id) as engine:` block. The engine it yields refuses every use once
the block ends (LeaseEnded): outside its lease the engine may be serving another caller, or be
evicted and freed, which in llama.cpp is a crash rather than an error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar, overload

from runtime.errors import Busy, ModelError, QueueFull
from runtime.engines.base import (
    CancelToken,
    GenerationOptions,
    GenerationStats,
    LoadReport,
    TextEngine,
    TokenStream,
)

log = logging.getLogger(__name__)

E = TypeVar("E")  # the engine type the scheduler's own loaders build (text engines in the runtime)
F = TypeVar("F")  # the engine type of a loader passed to one use()/pin() call (Whisper, embedders)

# loader(model_id) -> (engine, report); the runtime binds store, planner and options into it
Loader = Callable[[str], tuple[E, LoadReport]]


class LeaseEnded(RuntimeError):
    """An engine was used after the use() block that leased it ended: a bug in the caller, which
    must keep every call inside the block (or hold the model with pin())."""


class _Leased:
    """The engine as one use() block sees it: forwards attribute reads and writes to the engine
    while the lease lasts, and raises LeaseEnded after."""

    __slots__ = ("_engine", "_model_id", "_open")

    def __init__(self, engine: object, model_id: str) -> None:
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_model_id", model_id)
        object.__setattr__(self, "_open", True)

    def _end(self) -> None:
        object.__setattr__(self, "_open", False)

    def _target(self) -> object:
        if not self._open:
            raise LeaseEnded(
                f"the {self._model_id} engine was used after its lease ended; "
                "use it inside `with scheduler.use(...)`, or hold it with pin()"
            )
        return self._engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._target(), name, value)

    def __repr__(self) -> str:
        state = "leased" if self._open else "lease ended"
        return f"<{state} {self._engine!r}>"


class FairLock:
    """A FIFO lock: waiters get the model in arrival order, with a timeout.

    release() hands the lock straight to the first waiter and wakes only that one: waking every
    waiter to re-check (a shared Condition) makes each release cost a GIL round for all of them,
    which with 64 queued requests starved the daemon's event loop (/health took seconds).
    """

    def __init__(self) -> None:
        self._mu = threading.Lock()
        self._queue: deque[threading.Event] = deque()
        self._held = False

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def acquire(self, timeout: float) -> bool:
        with self._mu:
            if not self._held:
                self._held = True
                return True
            me = threading.Event()
            self._queue.append(me)
        if me.wait(max(timeout, 0.0)):
            return True  # handed over by release(); _held stayed True
        with self._mu:
            if me.is_set():  # handed over just as the wait ran out: it is ours now
                return True
            self._queue.remove(me)
            return False

    def release(self) -> None:
        with self._mu:
            if self._queue:
                self._queue.popleft().set()
            else:
                self._held = False


@dataclass
class ModelMetrics:
    """Counters for one model since the scheduler started."""

    loads: int = 0
    evictions: int = 0
    requests: int = 0
    load_seconds: float = 0.0
    queue_wait_seconds: float = 0.0
    last_queue_wait: float = 0.0
    last_ttft: float = 0.0
    last_tokens_per_second: float = 0.0
    completion_tokens: int = 0
    generation_seconds: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class _Slot:
    model_id: str
    lock: FairLock = field(default_factory=FairLock)
    engine: Any = None  # whatever its loader built: a text engine, Whisper, an embedder
    report: LoadReport | None = None
    last_used: float = 0.0
    users: int = 0
    pins: int = 0  # holders that keep the engine loaded and shared (see Scheduler.pin)

    @property
    def idle(self) -> bool:
        return self.engine is not None and self.users == 0 and self.pins == 0


@dataclass(frozen=True)
class LoadedModel:
    """A model that is in memory now."""

    model_id: str
    device: str
    memory_bytes: int
    idle_seconds: float
    in_use: bool
    report: LoadReport


class Scheduler(Generic[E]):
    """Hands out engines by model id; see the module docstring. `E` is the engine type its own
    loaders build; use()/pin() with an explicit loader return that loader's engine type."""

    def __init__(
        self,
        loaders: Callable[[str], Loader[E]] | Mapping[str, Loader[E]],
        memory_budget: int | None = None,
        keep_alive: float = 300.0,
        queue_timeout: float = 120.0,
        max_queue: int = 64,
        estimate: Callable[[str], int] = lambda _: 0,
        clock: Callable[[], float] = time.monotonic,
        reap: bool = False,
    ) -> None:
        self._loader_for = loaders if callable(loaders) else loaders.__getitem__
        self.memory_budget = memory_budget
        self.keep_alive = keep_alive
        self.queue_timeout = queue_timeout
        self.max_queue = max_queue
        self._estimate = estimate
        self._clock = clock
        self._slots: dict[str, _Slot] = {}
        self._mu = threading.RLock()
        self._load_mu = threading.Lock()  # one load at a time keeps peak memory predictable
        self.metrics: dict[str, ModelMetrics] = {}
        self._keep: dict[str, float] = {}  # per-model keep-alive set by keep(); others use keep_alive
        # the reaper (start_reaper): a thread that sleeps until the next idle model's keep-alive ends
        self._wake = threading.Condition(threading.Lock())
        self._poked = False
        self._stopping = False
        self._reaper: threading.Thread | None = None
        self.reap = reap  # start the reaper at the first load (the runtime's schedulers do)

    # -- leasing ---------------------------------------------------------------------------
    @overload
    def use(
        self, model_id: str, timeout: float | None = None, loader: None = None
    ) -> AbstractContextManager[E]: ...

    @overload
    def use(
        self, model_id: str, timeout: float | None = None, *, loader: Loader[F]
    ) -> AbstractContextManager[F]: ...

    def use(
        self, model_id: str, timeout: float | None = None, loader: Loader[Any] | None = None
    ) -> AbstractContextManager[Any]:
        """Lease the loaded engine for model_id, exclusively, loading it if needed (with `loader`
        when given, else the scheduler's loader for the model). The engine yielded refuses use
        after the block ends (LeaseEnded).

        Raises Busy when the queue is full or the wait exceeds the timeout.
        """
        return self._lease(model_id, timeout, loader, proxy=True)

    @contextmanager
    def _lease(
        self, model_id: str, timeout: float | None, loader: Loader[Any] | None, proxy: bool
    ) -> Iterator[Any]:
        self.evict_expired()
        with self._mu:
            slot = self._slots.setdefault(model_id, _Slot(model_id))
            m = self.metrics.setdefault(model_id, ModelMetrics())
            if slot.lock.waiting >= self.max_queue:
                raise QueueFull(
                    f"{model_id} has {slot.lock.waiting} requests queued", "retry shortly or raise max_queue"
                )
            slot.users += 1
        t0 = time.perf_counter()
        wait = self.queue_timeout if timeout is None else timeout
        if not slot.lock.acquire(wait):
            with self._mu:
                slot.users -= 1
            raise Busy(
                f"{model_id} stayed busy for {wait:.0f} s", "retry later, or raise ASSISTANT_QUEUE_TIMEOUT"
            )
        leased: _Leased | None = None
        try:
            waited = time.perf_counter() - t0
            m.requests += 1
            m.last_queue_wait = waited
            m.queue_wait_seconds += waited
            if slot.engine is None:
                self._load(slot, m, loader)
            if proxy:
                leased = _Leased(slot.engine, model_id)
                yield leased
            else:
                yield slot.engine
        finally:
            if leased is not None:
                leased._end()
            with self._mu:
                slot.last_used = self._clock()
                slot.users -= 1
            slot.lock.release()
            self._poke()  # idle now: its keep-alive runs from here

    @overload
    def pin(self, model_id: str, loader: None = None, timeout: float | None = None) -> E: ...

    @overload
    def pin(self, model_id: str, loader: Loader[F], timeout: float | None = None) -> F: ...

    def pin(self, model_id: str, loader: Loader[Any] | None = None, timeout: float | None = None) -> Any:
        """Return the engine for model_id, loaded like use() - counted in the memory budget, idle
        models evicted to make room - and kept loaded until unpin(). For engines a skill holds
        across calls and threads (Whisper during caption streams); never evicted while pinned."""
        with self._lease(model_id, timeout, loader, proxy=False) as engine:
            with self._mu:
                self._slots[model_id].pins += 1
            return engine

    def unpin(self, model_id: str) -> None:
        """Release one pin(); the model then ages out like any idle model."""
        with self._mu:
            s = self._slots.get(model_id)
            if s is not None and s.pins:
                s.pins -= 1
                s.last_used = self._clock()
        self._poke()

    def holders(self, model_id: str) -> int:
        """How many pin() holders keep model_id loaded now."""
        with self._mu:
            s = self._slots.get(model_id)
            return s.pins if s is not None else 0

    def stream(
        self: Scheduler[TextEngine],
        model_id: str,
        prompt: str,
        options: GenerationOptions = GenerationOptions(),
        cancel: CancelToken | None = None,
    ) -> TokenStream:
        """Stream a completion from model_id under its lock, recording TTFT and tokens/s."""
        with self.use(model_id) as engine:
            stats: GenerationStats = yield from engine.stream(prompt, options, cancel)
            self.record(model_id, stats)
            return stats

    def record(self, model_id: str, stats: GenerationStats) -> None:
        """Add one generation's numbers to the model's metrics."""
        m = self.metrics.setdefault(model_id, ModelMetrics())
        m.last_ttft = stats.time_to_first_token
        m.last_tokens_per_second = stats.tokens_per_second
        m.completion_tokens += stats.completion_tokens
        m.generation_seconds += stats.generation_seconds

    # -- loading and eviction ------------------------------------------------------------------
    def _load(self, slot: _Slot, m: ModelMetrics, loader: Loader[Any] | None = None) -> None:
        with self._load_mu:
            need = self._estimate(slot.model_id)
            self._make_room(need, exclude=slot.model_id)
            t0 = time.perf_counter()
            engine, report = (loader or self._loader_for(slot.model_id))(slot.model_id)
            m.loads += 1
            m.load_seconds += time.perf_counter() - t0
            with self._mu:
                slot.engine, slot.report = engine, report
            if self.reap:
                self.start_reaper()
            log.info("loaded %s on %s in %.2f s", slot.model_id, report.device, report.seconds)

    def _resident(self) -> int:
        return sum(s.report.memory_bytes for s in self._slots.values() if s.engine is not None and s.report)

    def _make_room(self, need: int, exclude: str) -> None:
        if self.memory_budget is None:
            return
        if need > self.memory_budget:
            raise ModelError(
                f"{exclude} needs about {need / 2**20:.0f} MiB, more than the whole memory budget of "
                f"{self.memory_budget / 2**20:.0f} MiB",
                "raise ASSISTANT_MEMORY_BUDGET or use a smaller model",
            )
        with self._mu:
            while self._resident() + need > self.memory_budget:
                idle = [s for s in self._slots.values() if s.idle and s.model_id != exclude]
                if not idle:
                    raise Busy(
                        f"memory budget of {self.memory_budget / 2**20:.0f} MiB is taken by models in use",
                        "retry when current requests finish, or raise ASSISTANT_MEMORY_BUDGET",
                    )
                self._evict(min(idle, key=lambda s: s.last_used))

    def _evict(self, slot: _Slot) -> None:
        engine, slot.engine, slot.report = slot.engine, None, None
        self.metrics.setdefault(slot.model_id, ModelMetrics()).evictions += 1
        log.info("evicted %s", slot.model_id)
        try:
            engine.close()
        except Exception:  # a failing close must not keep memory accounting wrong
            log.exception("closing %s failed", slot.model_id)

    def keep(self, model_id: str, seconds: float | None) -> None:
        """Keep model_id loaded for `seconds` once idle (negative: until unloaded, evicted for room
        or closed; None: the scheduler's keep_alive again), from its next use on, as Ollama's
        per-request keep_alive does."""
        with self._mu:
            if seconds is None:
                self._keep.pop(model_id, None)
            else:
                self._keep[model_id] = seconds
        self._poke()

    def keep_alive_of(self, model_id: str) -> float:
        """Seconds model_id stays loaded once idle; negative means until unloaded."""
        with self._mu:
            return self._ttl(model_id)

    def _ttl(self, model_id: str) -> float:
        """keep_alive_of without the lock (the caller holds _mu)."""
        return self._keep.get(model_id, self.keep_alive)

    def expires_in(self, model_id: str) -> float | None:
        """Seconds until model_id's keep-alive ends (all of it while the model is in use: it runs
        from the end of each use); None when it is kept until unloaded."""
        ttl = self.keep_alive_of(model_id)
        if ttl < 0:
            return None
        with self._mu:
            s = self._slots.get(model_id)
            idle = self._clock() - s.last_used if s is not None and s.idle else 0.0
        return max(ttl - idle, 0.0)

    def _next_expiry(self) -> float | None:
        """Seconds until the first idle model's keep-alive ends; None when none will."""
        now = self._clock()
        with self._mu:
            due = [
                s.last_used + ttl - now
                for s in self._slots.values()
                if s.idle and (ttl := self._ttl(s.model_id)) >= 0
            ]
        return max(min(due), 0.0) if due else None

    def evict_expired(self) -> list[str]:
        """Unload models idle for longer than their keep-alive; return their ids."""
        now = self._clock()
        gone = []
        with self._mu:
            for s in self._slots.values():
                ttl = self._ttl(s.model_id)
                if s.idle and ttl >= 0 and now - s.last_used > ttl:
                    self._evict(s)
                    gone.append(s.model_id)
        return gone

    def start_reaper(self) -> None:
        """Unload each idle model as its keep-alive ends, from a background thread, until close().
        Without it (`reap` off: fake-clock tests) expired models go at the next use()."""
        with self._wake:
            if self._reaper is None:
                self._stopping = False
                self._reaper = threading.Thread(target=self._reap, name="keep-alive", daemon=True)
                self._reaper.start()

    def _poke(self) -> None:
        with self._wake:
            self._poked = True
            self._wake.notify_all()

    def _reap(self) -> None:
        while True:
            wait = self._next_expiry()  # outside _wake: its lock is never held with _mu
            with self._wake:
                if not self._poked and not self._stopping:
                    # a little past the due time: expiry is "idle for longer than" the keep-alive
                    # an hour at most: Condition.wait refuses a timeout of centuries
                    self._wake.wait(None if wait is None else min(wait + 0.01, 3600.0))
                self._poked = False
                if self._stopping:
                    return
            try:
                self.evict_expired()
            except Exception:  # an engine that fails to close must not end the reaper
                log.exception("keep-alive eviction failed")

    def unload(self, model_id: str) -> bool:
        """Unload model_id now if it is loaded and idle; return whether it was unloaded."""
        with self._mu:
            s = self._slots.get(model_id)
            if s is None or not s.idle:
                return False
            self._evict(s)
            return True

    def loaded(self) -> list[LoadedModel]:
        """Describe the models in memory now."""
        now = self._clock()
        with self._mu:
            return [
                LoadedModel(
                    s.model_id,
                    s.report.device,
                    s.report.memory_bytes,
                    now - s.last_used,
                    s.users > 0 or s.pins > 0,
                    s.report,
                )
                for s in self._slots.values()
                if s.engine is not None and s.report is not None
            ]

    def queue_depth(self, model_id: str) -> int:
        """Requests waiting for model_id (not counting the one running)."""
        s = self._slots.get(model_id)
        return s.lock.waiting if s else 0

    def close(self, wait: float = 30.0) -> None:
        """Unload everything, first waiting (up to `wait` seconds) for requests still running:
        freeing a model under a running generation would crash the process."""
        with self._wake:
            reaper, self._reaper = self._reaper, None
            self._stopping = True
            self._wake.notify_all()
        if reaper is not None:
            reaper.join(5)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._mu:
                if not any(s.users for s in self._slots.values()):
                    break
            time.sleep(0.02)
        with self._mu:
            for s in self._slots.values():
                if s.engine is not None and s.users == 0:
                    self._evict(s)
