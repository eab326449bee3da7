"""The CPU cores an engine may use now, in this process.

An engine that sizes its own thread pools (ONNX Runtime sessions, say) asks `available()` before
a call. It is every core this process may run on (``OMP_NUM_THREADS`` where set, else its CPU
affinity), less the cores something else holds at the moment (`held`): while a render is
verified on the CPU, its listener hears on half the cores (`listener_share`), and an engine that
follows `available()` leaves those to it. Two pools of threads, each sized to every core, take
turns on the same cores and slow both: measured on 2 cores, whisper's hearings took 15 % longer
with Piper on every core beside them, and a verified render 1.26× the listener alone against
1.10× with the listener's core held (docs/benchmarks.md).

Engines that cannot change their threads after loading simply ignore this; nothing is enforced.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_held = 0


def usable() -> int:
    """Cores this process may use: the ``OMP_NUM_THREADS`` limit where set, else its affinity."""
    try:
        limit = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        limit = 0
    if limit > 0:
        return limit
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def available() -> int:
    """Cores an engine may use for its next call: `usable()` less those held, at least one."""
    with _lock:
        return max(1, usable() - _held)


def listener_share() -> int:
    """The cores a listener hears on beside synthesis: half of them, at least one."""
    return max(1, usable() // 2)


@contextmanager
def held(count: int) -> Iterator[None]:
    """Hold `count` cores for the block: `available()` is that much smaller until it ends."""
    global _held
    if count < 0:
        raise ValueError(f"cores held must be 0 or more, got {count}")
    with _lock:
        _held += count
    try:
        yield
    finally:
        with _lock:
            _held -= count
