"""Scheduler logic against fake engines: queueing, fairness, keep-alive, LRU under a budget."""

from __future__ import annotations

import threading
import time

import pytest

from runtime.errors import Busy, ModelError, QueueFull
from runtime.engines.base import CancelToken, GenerationOptions, LoadReport
from runtime.engines.fake import FakeTextEngine
from runtime.scheduler import FairLock, LeaseEnded, Scheduler

MB = 1 << 20


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(sizes: dict[str, int], clock: Clock | None = None, **kw: object) -> tuple[Scheduler, list[str]]:
    loads: list[str] = []

    def loader_for(model_id: str):  # type: ignore[no-untyped-def]
        def load(mid: str):  # type: ignore[no-untyped-def]
            loads.append(mid)
            eng = FakeTextEngine(
                mid, reply="ok", report=LoadReport(mid, "cpu", ("test",), (), 0.0, sizes[mid])
            )
            return eng, eng.report

        return load

    sched = Scheduler(loader_for, estimate=lambda m: sizes[m], clock=clock or Clock(), **kw)  # type: ignore[arg-type]
    return sched, loads


def test_an_engine_used_after_its_lease_ended_is_refused() -> None:
    s, _ = make({"a": MB})
    with s.use("a") as eng:
        assert eng.complete("x").text == "ok"  # inside the lease: the engine itself
        eng.reply = "changed"  # writes reach the engine too
        assert eng.complete("x").text == "changed"
    with pytest.raises(LeaseEnded, match="after its lease ended"):
        eng.complete("x")
    with pytest.raises(LeaseEnded):
        eng.reply = "late"
    with s.use("a") as again:  # a new lease gets the same loaded engine, usable again
        assert again.complete("x").text == "changed"


def test_a_pinned_engine_stays_usable_until_unpinned() -> None:
    s, loads = make({"a": MB})
    eng = s.pin("a")
    assert eng.complete("x").text == "ok" and s.holders("a") == 1
    s.unpin("a")
    assert s.holders("a") == 0 and loads == ["a"]


def test_loads_once_and_reuses() -> None:
    s, loads = make({"a": MB})
    for _ in range(3):
        with s.use("a") as eng:
            assert eng.complete("x").text == "ok"
    assert loads == ["a"]
    assert s.metrics["a"].loads == 1 and s.metrics["a"].requests == 3


def test_lru_eviction_under_memory_budget() -> None:
    clock = Clock()
    s, loads = make({"a": 40 * MB, "b": 40 * MB, "c": 40 * MB}, clock, memory_budget=100 * MB)
    for mid in ("a", "b"):
        clock.t += 1
        with s.use(mid):
            pass
    clock.t += 1
    with s.use("a"):  # a is now more recently used than b
        pass
    clock.t += 1
    with s.use("c"):
        pass
    assert sorted(m.model_id for m in s.loaded()) == ["a", "c"]
    assert s.metrics["b"].evictions == 1


def test_model_larger_than_budget_is_a_clear_error() -> None:
    s, _ = make({"big": 200 * MB}, memory_budget=100 * MB)
    with pytest.raises(ModelError, match="more than the whole memory budget"):
        with s.use("big"):
            pass


def test_models_in_use_are_never_evicted() -> None:
    s, _ = make({"a": 60 * MB, "b": 60 * MB}, memory_budget=100 * MB)
    with s.use("a"):
        with pytest.raises(Busy, match="in use"):
            with s.use("b"):
                pass


def test_pinned_models_count_in_the_budget_and_stay_until_unpinned() -> None:
    clock = Clock()
    s, loads = make(
        {"a": 60 * MB, "stt": 30 * MB, "b": 60 * MB}, clock, memory_budget=100 * MB, keep_alive=10
    )
    with s.use("a"):
        pass
    clock.t += 1
    held = s.pin("stt")
    assert held is s.pin("stt") and loads == ["a", "stt"]  # loaded once, pinned twice
    assert s.holders("stt") == 2 and s.holders("a") == 0
    with s.use("b"):  # 30 pinned + 60: "a" must go, the pinned model stays
        pass
    assert sorted(m.model_id for m in s.loaded()) == ["b", "stt"] and s.metrics["a"].evictions == 1
    assert next(m for m in s.loaded() if m.model_id == "stt").in_use
    clock.t += 100
    assert s.evict_expired() == ["b"] and not s.unload("stt")  # never aged out or unloaded while pinned
    s.unpin("stt")
    assert not s.unload("stt")  # still pinned once
    s.unpin("stt")
    clock.t += 11
    assert s.evict_expired() == ["stt"]


def test_pin_loads_with_the_given_loader() -> None:
    s, loads = make({"x": MB})
    eng = FakeTextEngine("x", reply="mine", report=LoadReport("x", "cpu", ("test",), (), 0.0, MB))
    assert s.pin("x", loader=lambda mid: (eng, eng.report)) is eng and loads == []


def test_keep_alive_expiry() -> None:
    clock = Clock()
    s, loads = make({"a": MB}, clock, keep_alive=10)
    with s.use("a"):
        pass
    clock.t += 5
    assert s.evict_expired() == []
    clock.t += 6
    assert s.evict_expired() == ["a"]
    with s.use("a"):
        pass
    assert loads == ["a", "a"]


def test_keep_alive_per_model() -> None:
    clock = Clock()
    s, loads = make({"a": MB, "b": MB, "c": MB}, clock, keep_alive=10)
    s.keep("a", 1)
    s.keep("b", -1)  # until unloaded
    for m in "abc":
        with s.use(m):
            pass
    assert s.expires_in("a") == 1 and s.expires_in("b") is None and s.expires_in("c") == 10
    clock.t += 2
    assert s.evict_expired() == ["a"]
    clock.t += 10**6
    assert s.evict_expired() == ["c"] and [m.model_id for m in s.loaded()] == ["b"]
    assert s.unload("b")  # forever still yields to an explicit unload
    s.keep("a", None)  # back to the scheduler's keep_alive
    with s.use("a"):
        pass
    clock.t += 5
    assert s.evict_expired() == [] and s.keep_alive_of("a") == 10


def test_the_reaper_unloads_when_the_keep_alive_ends_without_another_use() -> None:
    s, _ = make({"a": MB, "b": MB}, clock=time.monotonic, keep_alive=60, reap=True)  # type: ignore[arg-type]
    assert s._reaper is None  # started by the first load, as the runtime's scheduler does
    try:
        s.keep("a", 0.2)
        s.keep("b", 1e300)  # centuries: more than Condition.wait takes, the reaper must live on
        for m in "ab":
            with s.use(m):
                pass
        deadline = time.monotonic() + 10
        while "a" in {m.model_id for m in s.loaded()} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [m.model_id for m in s.loaded()] == ["b"] and s.metrics["a"].evictions == 1
        assert s._reaper is not None and s._reaper.is_alive()
        s.keep("b", 0.1)  # a shorter keep-alive wakes the reaper, which was waiting for nothing
        while s.loaded() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s.loaded() == []
    finally:
        s.close()
    assert s._reaper is None


def test_concurrent_requests_are_serialized_and_fair() -> None:
    s, loads = make({"a": MB})
    order: list[int] = []
    active = []
    max_active = [0]
    gate = threading.Lock()

    def worker(i: int) -> None:
        with s.use("a"):
            with gate:
                active.append(i)
                max_active[0] = max(max_active[0], len(active))
            time.sleep(0.01)
            order.append(i)
            with gate:
                active.remove(i)

    threads = []
    with s.use("a"):  # hold the model so the workers queue up in start order
        for i in range(8):
            t = threading.Thread(target=worker, args=(i,))
            t.start()
            threads.append(t)
            while s.queue_depth("a") < i + 1:
                time.sleep(0.001)
    for t in threads:
        t.join()
    assert max_active[0] == 1
    assert order == list(range(8))
    assert loads == ["a"]


def test_queue_timeout_becomes_busy() -> None:
    s, _ = make({"a": MB}, queue_timeout=0.05)
    with s.use("a"):
        err: list[BaseException] = []
        t = threading.Thread(target=lambda: _try(s, err))
        t.start()
        t.join()
    assert err and isinstance(err[0], Busy) and "busy" in str(err[0])


def _try(s: Scheduler, err: list[BaseException]) -> None:
    try:
        with s.use("a"):
            pass
    except Busy as e:
        err.append(e)


def test_full_queue_refuses_at_once() -> None:
    s, _ = make({"a": MB}, max_queue=0)
    with pytest.raises(QueueFull, match="queued"):
        with s.use("a"):
            pass


def test_stream_records_metrics_and_cancel_stops() -> None:
    s, _ = make({"a": MB})
    got = list(s.stream("a", "hi", GenerationOptions(max_tokens=10)))
    assert "".join(e.text for e in got) == "ok"
    cancel = CancelToken()
    cancel.cancel()
    assert list(s.stream("a", "hi", cancel=cancel)) == []
    assert s.metrics["a"].completion_tokens == 2


def test_fair_lock_timeout_removes_waiter() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    assert not lock.acquire(0.01)
    assert lock.waiting == 0
    lock.release()
    assert lock.acquire(0.01)


def test_close_waits_for_running_requests() -> None:
    s, _ = make({"a": MB})
    done = threading.Event()

    def hold() -> None:
        with s.use("a") as eng:
            time.sleep(0.2)
            assert not eng.closed  # still usable while the request runs
        done.set()

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.05)
    s.close()
    assert done.is_set()
    t.join()
    assert s.loaded() == []
