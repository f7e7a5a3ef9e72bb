"""MemorySkill: the one object the CLI, daemon, TUI and chat use. Every call names its Caller, and
the skill enforces what that caller may see and change (apps read their own events unless granted)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, Union

from skills.memory.embed import Embedder
from skills.memory.ingest import prepare_batch
from skills.memory.model import (
    BrowseOptions,
    Caller,
    Candidate,
    CapturePaused,
    Event,
    EventIn,
    InvalidEvent,
    PushResult,
    Retention,
    ScopeDenied,
    SearchHit,
    SearchOptions,
    check_names,
)
from skills.memory.redact import RedactOptions, Redactor
from skills.memory.resolve import Resolver
from skills.memory.search import Searcher, browse_sql
from skills.memory.store import MemoryStore, StoreOptions, to_event
from skills.memory.vectors import EmbedWorker, VectorIndex, load_index

EventLike = Union[EventIn, Mapping[str, Any]]
MAX_BATCH = 1000
QUERY_CACHE = 256  # query embeddings kept (1.5 KB each)


@dataclass(frozen=True)
class MemoryOptions:
    """How the skill runs.

    background: run the embedding worker thread (the daemon does; one-shot CLI commands do not).
    max_vectors: newest events held in the in-memory vector index.
    purge_every: seconds between purges of expired events by the worker.
    clock: what "now" is for search, resolve and browse ("yesterday", "a few hours ago", recency);
        tests pin it so that time words mean the same at any hour of the day.
    """

    store: StoreOptions
    redact: RedactOptions = RedactOptions()
    background: bool = True
    max_vectors: int = 200_000
    purge_every: float = 300.0
    clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class ForgetOptions:
    """What to forget: some event ids, one app, a created-time range, or everything (owner only).
    Criteria combine with AND; at least one is needed."""

    ids: tuple[int, ...] = ()
    app: str | None = None
    since: float | None = None
    until: float | None = None
    everything: bool = False


class MemorySkill:
    """Cross-app context memory: push, search, resolve, browse, forget, pause, retention, stats."""

    def __init__(
        self,
        options: MemoryOptions,
        embedder: Embedder | None = None,
        embedder_factory: Callable[[], Embedder] | None = None,
        release_embedder: Callable[[], None] | None = None,
    ) -> None:
        self.options = options
        self._release = release_embedder  # called at close() when the factory built the embedder
        self.store = MemoryStore(options.store)
        self.redactor = Redactor(options.redact)
        self._embedder = embedder
        self._factory = embedder_factory
        self._mu = threading.Lock()
        self._qcache: OrderedDict[str, Any] = OrderedDict()
        self._index: VectorIndex | None = None
        self._worker: EmbedWorker | None = None
        self.searcher = Searcher(self.store, None, self._embed_query)
        self.resolver = Resolver(self.store, self.searcher)
        self.purge_expired()
        if options.background and self._can_embed():
            self._start_worker()

    # -- embeddings ---------------------------------------------------------------------------
    def _can_embed(self) -> bool:
        return self._embedder is not None or self._factory is not None

    @property
    def embedder(self) -> Embedder:
        """Return the embedder (built on first use); /v1/embeddings uses it too."""
        with self._mu:
            if self._embedder is None:
                if self._factory is None:
                    raise InvalidEvent(
                        "this memory has no embedder", "open it with an embedder for hybrid search"
                    )
                self._embedder = self._factory()
            return self._embedder

    def _embed_query(self, text: str) -> Any:
        # Queries repeat (the same question, retyped, or resolve after search): embedding one costs
        # 10-30 ms on the CPU, a cache hit microseconds. Vectors are made read-only, so sharing is safe.
        with self._mu:
            vec = self._qcache.get(text)
            if vec is not None:
                self._qcache.move_to_end(text)
                return vec
        vec = self.embedder.embed([text])[0]
        vec.setflags(write=False)
        with self._mu:
            self._qcache[text] = vec
            if len(self._qcache) > QUERY_CACHE:
                self._qcache.popitem(last=False)
        return vec

    def _vector_index(self) -> VectorIndex:
        with self._mu:
            if self._index is None:
                self._index = VectorIndex(
                    384 if self._embedder is None else self._embedder.dim, self.options.max_vectors
                )
                load_index(self.store, self._index)
            return self._index

    def _start_worker(self) -> None:
        index = self._vector_index()
        self.searcher.index = index
        self._worker = EmbedWorker(
            self.store, self.embedder, index, on_idle=self.purge_expired, idle_every=self.options.purge_every
        )
        self._worker.start()

    def wait_embedded(self, timeout: float = 60.0) -> bool:
        """Block until the worker has embedded everything pushed so far; return whether it did."""
        if self._worker is None:
            return False
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self._worker.pending() == 0:
                return True
            self._worker.notify()
            time.sleep(0.02)
        return False

    def embed_pending(self) -> int:
        """Embed pending events in this thread (for one-shot commands without a worker); return how many."""
        index = self._vector_index()
        self.searcher.index = index
        worker = EmbedWorker(self.store, self.embedder, index)
        n = worker.pending()
        while worker.step():
            pass
        return n

    # -- scopes -------------------------------------------------------------------------------
    def _need(self, caller: Caller, scope: str) -> None:
        if not isinstance(caller, Caller):
            raise ScopeDenied("memory calls need a Caller", "pass Caller(app_name, scopes) or Caller.user()")
        if scope not in caller.scopes:
            raise ScopeDenied(
                f"app {caller.app!r} lacks the {scope} scope",
                f"the user can give its token {scope} (memory:read and memory:write are separate)",
            )

    def _owner(self, caller: Caller, what: str) -> None:
        if not caller.owner:
            raise ScopeDenied(f"only the user can {what}", "run it from `assistant memory` or the TUI")

    def visible_apps(self, caller: Caller, wanted: Sequence[str] = ()) -> set[str] | None:
        """Return the apps caller may read (None: all), narrowed to wanted; ScopeDenied for others' apps."""
        self._need(caller, "memory:read")
        granted = self.granted_at(caller.app)
        by_grant = granted is not None and granted >= caller.registered_at
        everything = caller.owner or caller.cross_app or by_grant
        if everything:
            return set(wanted) if wanted else None
        other = [a for a in wanted if a != caller.app]
        if other:
            raise ScopeDenied(
                f"app {caller.app!r} cannot read events of {other[0]!r}",
                f"the user can grant cross-app read with `assistant memory grant {caller.app}`",
            )
        return {caller.app}

    # -- push ---------------------------------------------------------------------------------
    def push(self, caller: Caller, event: EventLike) -> PushResult:
        """Store one event and return its id; a retried idempotency key returns the stored id."""
        return self.push_batch(caller, [event])[0]

    def push_batch(self, caller: Caller, events: Sequence[EventLike]) -> list[PushResult]:
        """Store events in one transaction; when this returns, they are durable. All or none."""
        self._need(caller, "memory:write")
        if isinstance(events, (str, bytes, Mapping)) or not isinstance(events, Sequence):
            raise InvalidEvent(
                "push_batch takes a list of events", "send a JSON array of event objects", field="events"
            )
        if len(events) > MAX_BATCH:
            raise InvalidEvent(
                f"a batch of {len(events)} events is over the limit of {MAX_BATCH}",
                f"split it into batches of {MAX_BATCH} or fewer",
                field="events",
            )
        if self.paused():
            raise CapturePaused(
                "memory capture is paused by the user; nothing was stored",
                "the user can resume it with `assistant memory resume`",
            )
        batch = prepare_batch(
            events,
            caller.app,
            lambda as_app: self._push_app(caller, as_app),
            time.time(),
            self.store.retention(),
            self.redactor,
        )
        results = self.store.insert(batch)
        if self._worker is not None:
            self._worker.notify()
        return results

    def _push_app(self, caller: Caller, as_app: Any) -> str:
        if as_app is None or as_app == caller.app:
            return caller.app
        if not caller.owner:
            raise ScopeDenied(
                f"app {caller.app!r} cannot push events as {as_app!r}",
                "leave out the app field; events carry the pushing app's name",
            )
        check_names([as_app], "app")
        return str(as_app)

    # -- recall -------------------------------------------------------------------------------
    def search(self, caller: Caller, query: str, options: SearchOptions = SearchOptions()) -> list[SearchHit]:
        """Return ranked hits among the events caller may read."""
        apps = self.visible_apps(caller, options.filters.apps)
        if not isinstance(query, str) or len(query) > 2000:
            raise InvalidEvent(
                "a search query is text of at most 2,000 characters", "send a shorter query", field="query"
            )
        if options.mode not in ("keyword", "hybrid"):
            raise InvalidEvent(f"unknown search mode {options.mode!r}", "use keyword or hybrid", field="mode")
        if options.mode == "hybrid" and self._can_embed() and self.searcher.index is None:
            self.searcher.index = self._vector_index()
        if options.mode == "hybrid" and not self._can_embed():
            from dataclasses import replace

            options = replace(options, mode="keyword")
        return self.searcher.search(query, apps, options, self.options.clock())

    def resolve(
        self, caller: Caller, text: str, limit: int = 5, context: Sequence[str] = ()
    ) -> list[Candidate]:
        """Return ranked candidate events that a phrase like "that file" or "her" may mean; context:
        the conversation's earlier turns (newest last), which "it" and "her" prefer."""
        apps = self.visible_apps(caller)
        if not isinstance(text, str) or not text.strip():
            raise InvalidEvent(
                "resolve needs a phrase", 'send e.g. "that file" or "the PDF from yesterday"', field="text"
            )
        return self.resolver.resolve(text, apps, limit, now=self.options.clock(), context=tuple(context))

    def browse(self, caller: Caller, options: BrowseOptions = BrowseOptions()) -> list[Event]:
        """Return events newest (created) first, by app, kind and time; page with before_id."""
        apps = self.visible_apps(caller, options.filters.apps)
        before = None
        if options.before_id is not None:
            row = self.store.query("SELECT created FROM events WHERE id = ?", (options.before_id,))
            before = (row[0][0], options.before_id) if row else None
        sql, params = browse_sql(
            apps, options.filters, self.options.clock(), before, min(options.limit, 1000)
        )
        return [to_event(r) for r in self.store.query(sql, params)]

    def get(self, caller: Caller, event_id: int) -> Event | None:
        """Return one event if it exists and caller may read it."""
        apps = self.visible_apps(caller)
        ev = self.store.get([event_id]).get(event_id)
        if ev is None or (apps is not None and ev.app not in apps) or ev.expires <= time.time():
            return None
        return ev

    # -- control ------------------------------------------------------------------------------
    def forget(self, caller: Caller, options: ForgetOptions) -> int:
        """Delete matching events from every index; return how many. Apps forget only their own."""
        self._need(caller, "memory:write")
        parts: list[str] = []
        params: list[object] = []
        app = options.app
        if not caller.owner:
            if app is not None and app != caller.app:
                raise ScopeDenied(f"app {caller.app!r} cannot forget events of {app!r}", "only the user can")
            app = caller.app
        if options.everything:
            self._owner(caller, "forget everything")
        elif not (options.ids or options.app or options.since is not None or options.until is not None):
            raise InvalidEvent(
                "forget needs ids, an app, a time range, or everything",
                "e.g. `assistant memory forget --app mail --since 2d`",
                field="ids",
            )
        if options.ids:
            parts.append(f"id IN ({','.join('?' * len(options.ids))})")
            params += list(options.ids)
        if app is not None:
            parts.append("app = ?")
            params.append(app)
        if options.since is not None:
            parts.append("created >= ?")
            params.append(options.since)
        if options.until is not None:
            parts.append("created <= ?")
            params.append(options.until)
        return self._delete(self.store.ids_where(" AND ".join(parts) or "1", params))

    def _delete(self, ids: list[int]) -> int:
        with self.store.lock:  # the worker must not add a vector between these two steps
            n = self.store.delete_ids(ids)
            if self._index is not None:
                self._index.remove(ids)
        return n

    def purge_expired(self, now: float | None = None) -> int:
        """Delete expired events from every index; return how many."""
        now = time.time() if now is None else now
        return self._delete(self.store.ids_where("expires <= ?", (now,)))

    def paused(self) -> bool:
        return self.store.meta("paused", "0") == "1"

    def pause(self, caller: Caller) -> None:
        """Stop all capture: pushes fail with CapturePaused until resume."""
        self._owner(caller, "pause capture")
        self.store.set_meta("paused", "1")

    def resume(self, caller: Caller) -> None:
        self._owner(caller, "resume capture")
        self.store.set_meta("paused", "0")

    def set_retention(self, caller: Caller, retention: Retention) -> int:
        """Set the retention policy, re-apply it to stored events, purge; return how many were purged."""
        self._owner(caller, "change retention")
        if retention.default <= 0 or any(v <= 0 for v in retention.kinds.values()):
            raise InvalidEvent("retention must be positive", "use e.g. 30d, or 1d for clipboard")
        self.store.set_retention(retention, time.time())
        return self.purge_expired()

    def grant(self, caller: Caller, app: str) -> None:
        """Let app read every app's events."""
        self._owner(caller, "grant cross-app read")
        check_names([app], "app")
        self.store.query("INSERT OR REPLACE INTO grants (app, granted) VALUES (?, ?)", (app, time.time()))

    def revoke(self, caller: Caller, app: str) -> None:
        self._owner(caller, "revoke cross-app read")
        self.store.query("DELETE FROM grants WHERE app = ?", (app,))

    def granted_at(self, app: str) -> float | None:
        """Return when the user granted app cross-app read (unix seconds), or None if never."""
        rows = self.store.query("SELECT granted FROM grants WHERE app = ?", (app,))
        return float(rows[0][0]) if rows else None

    def stats(self, caller: Caller) -> dict[str, Any]:
        """Return counts, sizes, encryption, pause and retention state (owner: all apps; app: its own)."""
        apps = self.visible_apps(caller)
        where = "" if apps is None else f" WHERE app IN ({','.join('?' * len(apps))})"
        params = [] if apps is None else sorted(apps)
        by = self.store.query(f"SELECT app, kind, count(*) FROM events{where} GROUP BY app, kind", params)
        total = sum(r[2] for r in by)
        per_app: dict[str, int] = {}
        per_kind: dict[str, int] = {}
        for a, k, n in by:
            per_app[a] = per_app.get(a, 0) + n
            per_kind[k] = per_kind.get(k, 0) + n
        s = self.store
        r = s.retention()
        mark = int(s.meta("embed_watermark", "0"))
        out: dict[str, Any] = {
            "events": total,
            "apps": per_app,
            "kinds": per_kind,
            "paused": self.paused(),
            "retention": {
                "default_days": r.default / 86400,
                "kinds_days": {k: v / 86400 for k, v in r.kinds.items()},
            },
        }
        if caller.owner:
            all_events = s.query("SELECT count(*) FROM events")[0][0]
            size = s.file_bytes()
            cipher = s.query("PRAGMA cipher_version") if s.encrypted else []
            out.update(
                {
                    "path": str(s.path),
                    "encrypted": s.encrypted,
                    "encryption": (
                        f"SQLCipher {cipher[0][0] if cipher else ''}, key in {s.key_source}".strip()
                        if s.encrypted
                        else "OFF: the user opted out of encryption"
                    ),
                    "grants": sorted(s.grants()),
                    "pending_embeddings": s.query("SELECT count(*) FROM events WHERE id > ?", (mark,))[0][0],
                    "embedded": s.query("SELECT count(*) FROM embeddings")[0][0],
                    "db_bytes": size,
                    "bytes_per_event": round(size / all_events, 1) if all_events else None,
                    "schema_version": int(s.meta("schema_version", "0")),
                }
            )
        return out

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self.searcher.close()
        self.store.close()
        if self._release is not None and self._factory is not None and self._embedder is not None:
            self._release()
            self._embedder = None
