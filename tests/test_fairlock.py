"""The per-model lock is granted in arrival order: a short render that arrives during a long
one on the same (not thread-safe) engine waits for the segment in progress, not the render."""

from __future__ import annotations

import threading
import time

from conftest import ToneEngine

import polyvox
from polyvox import Segment
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
        time.sleep(0.02)  # each thread is queued before the next arrives
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
    time.sleep(0.05)
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


def test_short_render_waits_for_one_segment_not_the_long_render(tmp_path):
    tone = ToneEngine(delay=0.02)  # not thread-safe: one call at a time per model
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    kernel.register(tone)
    long_texts = [f"Long sentence number {n}." for n in range(60)]
    long = threading.Thread(target=kernel.render, args=([Segment(text=t) for t in long_texts],),
                            kwargs={"engine": "tone"})
    long.start()
    deadline = time.monotonic() + 10
    while len(tone.calls) < 5 and time.monotonic() < deadline:
        time.sleep(0.005)
    arrived = len(tone.calls)
    began = time.perf_counter()
    audio = kernel.synthesize("Short one.", engine="tone")
    waited = time.perf_counter() - began
    long.join(30)
    assert len(audio) > 0
    served_at = tone.calls.index("Short one.")
    # served right after the segment in progress (one or two more at most on a busy machine),
    # while the long render still had most of its segments to go
    assert served_at <= arrived + 2, (arrived, served_at)
    assert served_at < len(long_texts) // 2
    assert waited < 0.6 * 60 * 0.02
