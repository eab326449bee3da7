"""A re-entrant lock that is granted in arrival order.

`threading.Lock` and `RLock` promise no order: a thread that releases a lock and asks for it
again at once (a long render going from one segment to the next) usually gets it back before a
thread that has been waiting, so one render can starve every other render of the same model.
Engines that are not thread-safe serve one call at a time per model; with this lock a request
that arrives during a long render waits for the segment in progress, not for the whole render.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any


class FairLock:
    """A ticket lock on a `threading.Condition`: FIFO among waiters, re-entrant for its owner."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._tickets = itertools.count()
        self._serving = 0
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            ticket = next(self._tickets)
            while ticket != self._serving or self._owner is not None:
                self._cond.wait()
            self._owner = me
            self._depth = 1
            return True

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release a FairLock held by another thread")
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            self._serving += 1
            self._cond.notify_all()

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
