"""The per-model lock is granted in arrival order: a short render that arrives during a long
one on the same (not thread-safe) engine waits for the segment in progress, not the render."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import attrs
import pytest
from conftest import ToneEngine, parked, wait_parked

import polyvox
from polyvox import Segment
from polyvox.events import SegmentStarted
from polyvox.render.fairlock import FairLock


def test_waiters_are_served_in_arrival_order():
    lock = FairLock()
    order: list[int] = []
    lock.acquire()

    def take(n: int) -> None:
        with lock:
            order.append(n)

    threads = []
    for n in range(6):
        t = threading.Thread(target=take, args=(n,))
        t.start()
        threads.append(t)
        assert wait_parked(t.ident)  # each thread is queued before the next arrives
    lock.release()
    for t in threads:
        t.join(5)
    assert order == list(range(6))


def test_a_holder_that_asks_again_at_once_goes_behind_the_waiter():
    """threading.Lock lets the releasing thread barge back in (measured: the waiter got in after
    30 to 120 of the holder's turns, in most trials); a ticket lock serves the waiter next."""
    assert [_turns_before_waiter(FairLock()) for _ in range(3)] == [0, 0, 0]


def _turns_before_waiter(lock: FairLock) -> int:
    log: list[object] = []
    lock.acquire()

    def waiter() -> None:
        with lock:
            log.append("waiter")

    t = threading.Thread(target=waiter)
    t.start()
    assert wait_parked(t.ident)
    for turn in range(200):  # a render going from one segment to the next
        lock.release()
        lock.acquire()
        log.append(turn)
        sum(range(2000))  # work holding the GIL, as an engine call does
    lock.release()
    t.join(5)
    return log.index("waiter")


def test_reentrant_for_its_owner_and_refuses_a_stranger():
    lock = FairLock()
    with lock, lock:
        errors = []
        t = threading.Thread(target=lambda: errors.append(_try_release(lock)))
        t.start()
        t.join(5)
        assert errors == [True]
    assert lock.acquire() and (lock.release() is None)


def _try_release(lock: FairLock) -> bool:
    try:
        lock.release()
    except RuntimeError:
        return True
    return False


class Turns:
    """Two renders, "Long" (many segments) and "Short" (a few), and engines that hold each call
    until the other render's next segment is queued at the lock (or that render is over).

    So the releasing render always finds the other one waiting: a lock granted in arrival order
    alternates their calls exactly; a lock that lets the releasing thread straight back in (as
    `threading.RLock` does when the waiter wakes a moment late) serves "Long" twice in a row.
    Both renders run on one processor, so the woken waiter is late whenever the releasing render
    goes on without blocking (with a processor of its own it often was not, on an idle machine).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[str] = []
        self.pending = {"Long": 0, "Short": 0}  # started (event seen), not yet in the engine
        self.threads: dict[str, int] = {}
        self.done = {"Long": threading.Event(), "Short": threading.Event()}
        self.short_may_start = threading.Event()

    def listen(self, event: Any) -> None:
        if isinstance(event, SegmentStarted):  # sent before the call queues at the lock
            who = event.text.split()[0]
            with self.lock:
                self.pending[who] += 1
                self.threads[who] = threading.get_ident()

    def called(self, text: str) -> None:
        who = text.split()[0]
        with self.lock:
            self.pending[who] -= 1
            self.calls.append(text)
            if text == "Long 2.":
                self.short_may_start.set()  # "Short" arrives during the third segment of "Long"
        if self.short_may_start.is_set():
            self._wait_for("Short" if who == "Long" else "Long")

    def _wait_for(self, other: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.done[other].is_set():
            with self.lock:
                waiting = self.pending[other] > 0
            if waiting and parked(self.threads[other]):
                return
            time.sleep(0.002)

    def render(self, kernel: polyvox.Kernel, who: str, count: int, engine: str) -> threading.Thread:
        def run() -> None:
            if hasattr(os, "sched_setaffinity"):  # Linux: both renders on one processor (see `Turns`)
                os.sched_setaffinity(threading.get_native_id(), {min(os.sched_getaffinity(0))})
            if who == "Short":
                assert self.short_may_start.wait(10)
            try:
                kernel.render([Segment(f"{who} {n}.") for n in range(count)], engine=engine)
            finally:
                self.done[who].set()

        thread = threading.Thread(target=run)
        thread.start()
        return thread


class TurnTone(ToneEngine):
    def __init__(self, turns: Turns, *, seeded: bool, name: str = "tone"):
        super().__init__(name=name)
        self.turns = turns
        self.seeded = seeded

    def spec(self) -> polyvox.EngineSpec:
        spec = super().spec()
        return attrs.evolve(spec, capabilities=attrs.evolve(spec.capabilities, seeded=self.seeded))

    def synthesize(self, model: Any, request: polyvox.Request, conditioning: Any) -> polyvox.Audio:
        self.turns.called(request.text)
        return super().synthesize(model, request, conditioning)


@pytest.mark.parametrize("lock", ["per model", "one seeded engine at a time"])
def test_a_short_render_waits_for_one_segment_of_a_long_render_each_time(lock):
    """Per model: one engine that is not seeded, both renders on one model. One seeded engine
    at a time (the process-wide lock of seeded engines that are not thread-safe): two such
    engines, one render each."""
    turns = Turns()
    kernel = polyvox.Kernel(cache=False)
    kernel.subscribe(turns.listen)
    if lock == "per model":
        kernel.register(TurnTone(turns, seeded=False))
        engines = ("tone", "tone")
    else:
        kernel.register(TurnTone(turns, seeded=True, name="one"))
        kernel.register(TurnTone(turns, seeded=True, name="two"))
        engines = ("one", "two")
    short = 8  # each of its segments is a chance for the releasing render to barge back in
    threads = [turns.render(kernel, "Long", 20, engines[0]), turns.render(kernel, "Short", short, engines[1])]
    for thread in threads:
        thread.join(60)
    assert all(turns.done[who].is_set() for who in ("Long", "Short"))
    expected = [f"Long {n}." for n in range(3)]
    for n in range(short):
        expected += [f"Short {n}.", f"Long {n + 3}."]
    expected += [f"Long {n}." for n in range(short + 3, 20)]
    assert turns.calls == expected
