"""Bridges a blocking token stream (llama.cpp in a worker thread) to the event loop and to SSE.

One thread per generation runs the runtime's generator; events cross to the loop through an
asyncio.Queue. A task watches the connection: when the client goes away it sets the CancelToken,
which the engine checks at every token step, so generation stops within one step. Waiting for a
busy model happens in the runtime's fair per-model queue (FairLock), not here.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from typing import Any, Callable, Iterator

from starlette.responses import Response

from assistant.daemon.errors import RequestTimeout, body_of
from runtime.errors import AssistantError
from runtime.engines.base import CancelToken, GenerationStats, TokenEvent

Item = tuple[str, Any]  # ("token", TokenEvent) | ("done", GenerationStats) | ("error", BaseException)
Receive = Callable[[], Any]


class WorkerPool:
    """Threads started once, off the event loop, that run blocking generations.

    Starting a thread waits until the OS has scheduled it; done on the event loop for every request,
    that wait stalled all other requests whenever the machine was busy (/health took seconds under
    64 clients). submit() only queues work. When every worker is busy it starts one more thread,
    as before, rather than queue work behind generations waiting for another model.
    """

    def __init__(self, size: int) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._mu = threading.Lock()
        self._idle = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"generation-{i}", daemon=True) for i in range(size)
        ]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[[], None]) -> None:
        """Run fn() in a worker thread, without waiting on the caller's thread."""
        with self._mu:
            idle = self._idle > 0
            if idle:
                self._idle -= 1  # claimed now, so two submits never count on the same worker
        if idle:
            self._tasks.put(fn)
        else:
            threading.Thread(target=fn, name="generation", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._mu:
                self._idle += 1
            fn = self._tasks.get()
            if fn is None:
                return
            try:
                fn()
            except BaseException:  # fn reports its own errors; a worker must outlive any of them
                pass

    def close(self) -> None:
        """Let the workers exit once idle (running work is cancelled by drain(), not here)."""
        for _ in self._threads:
            self._tasks.put(None)


class GenerationJob:
    """Runs make_stream(cancel) in a worker thread; read it with `await batch()`."""

    def __init__(
        self,
        make_stream: Callable[[CancelToken], Iterator[TokenEvent]],
        receive: Receive,
        timeout: float,
        on_finish: Callable[[GenerationStats], None] = lambda _: None,
        active: set[GenerationJob] | None = None,
        pool: WorkerPool | None = None,
    ) -> None:
        self.cancel = CancelToken()
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.stats: GenerationStats | None = None
        self.started = time.perf_counter()
        self.first_token_at: float | None = None
        self._make = make_stream
        self._on_finish = on_finish
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._finished = False
        self._active = active if active is not None else set()
        self._active.add(self)
        self.done = threading.Event()
        """Set when the worker has finished with this job (drain() waits on it)."""
        if pool is not None:
            pool.submit(self._run)
        else:
            threading.Thread(target=self._run, name="generation", daemon=True).start()
        self._watcher = asyncio.create_task(self._watch(receive))

    def _run(self) -> None:
        try:
            stream = self._make(self.cancel)
            while True:
                try:
                    ev = next(stream)
                except StopIteration as stop:
                    self.stats = stop.value
                    if self.stats is not None:  # from the thread: counts even when the client left
                        self._on_finish(self.stats)
                    break
                self._put(("token", ev))
            self._put(("done", self.stats))
        except BaseException as exc:  # handed to the loop, which maps it to a status
            self._put(("error", exc))
        finally:
            self._active.discard(self)
            self.done.set()

    def _put(self, item: Item) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (daemon shutting down): stop generating
            self.cancel.cancel()

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.cancel.cancel()
                return

    async def batch(self) -> list[Item]:
        """Return the next events (at least one), raising a token stream's error, or RequestTimeout."""
        remaining = self.deadline - time.monotonic()
        try:
            item = await asyncio.wait_for(self._queue.get(), max(remaining, 0.001))
        except asyncio.TimeoutError:
            self.close()
            raise RequestTimeout(
                f"the request ran past the daemon's {self.timeout:.0f} s limit",
                "ask for fewer tokens, or retry when the model is less busy",
            ) from None
        items = [item]
        while not self._queue.empty():  # coalesce: send what is ready in one write
            items.append(self._queue.get_nowait())
        for kind, value in items:
            if kind == "error":
                self.close()
                raise value
            if kind == "done":
                self._finished = True
            elif self.first_token_at is None:
                self.first_token_at = time.perf_counter()
        return items

    @property
    def finished(self) -> bool:
        return self._finished

    async def collect(self) -> str:
        """Drain the job; return the whole text."""
        parts: list[str] = []
        try:
            while not self._finished:
                parts.extend(v.text for k, v in await self.batch() if k == "token")
        finally:
            self.close()
        return "".join(parts)

    def close(self) -> None:
        """Stop generating (if still running) and stop watching the connection."""
        if not self._finished:
            self.cancel.cancel()
        self._watcher.cancel()


def drain(active: set[GenerationJob], timeout: float = 10.0) -> None:
    """Cancel every running generation and wait for its thread, so models can be closed safely."""
    for job in list(active):
        job.cancel.cancel()
    deadline = time.monotonic() + timeout
    for job in list(active):
        job.done.wait(max(0.0, deadline - time.monotonic()))


class EventStream(Response):
    """An ASGI response that streams a job as Server-Sent Events.

    render(kind, value) returns the SSE payloads (JSON strings) for one job item; `tail` is sent
    after the job ends. A timeout mid-stream sends an error event, since the status is already out.
    """

    def __init__(self, job: GenerationJob, head: list[str], render: Callable[[str, Any], list[str]]) -> None:
        super().__init__(
            None,
            200,
            {"cache-control": "no-cache", "x-accel-buffering": "no"},
            media_type="text/event-stream",
        )
        self.job = job
        self.head = head
        self.render_items = render  # not `render`: Response has a render() of its own

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(k, v) for k, v in self.raw_headers if k != b"content-length"],
            }
        )
        pending = list(self.head)
        try:
            while True:
                if pending:
                    body = "".join(f"data: {p}\n\n" for p in pending).encode()
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    pending = []
                if self.job.finished:
                    break
                try:
                    items = await self.job.batch()
                except Exception as exc:  # noqa: BLE001 - the status is sent; report the error in-band
                    err = (
                        exc
                        if isinstance(exc, AssistantError)
                        else AssistantError(f"generation failed: {exc}")
                    )
                    pending.append(json.dumps(body_of(err)))
                    break
                for kind, value in items:
                    pending.extend(self.render_items(kind, value))
            pending.append("[DONE]")
            body = "".join(f"data: {p}\n\n" for p in pending).encode()
            await send({"type": "http.response.body", "body": body, "more_body": False})
        except OSError:  # the client went away while we were writing
            pass
        finally:
            self.job.close()
