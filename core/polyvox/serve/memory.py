"""Freed memory given back to the system when the server goes idle.

A request frees what it used, but glibc's allocator keeps freed blocks in its per-thread
arenas (a server's worker threads have several), so the process's resident memory stays at its
peak: after a burst of streamed Opus responses cut short, tens of megabytes more than before.
`malloc_trim` returns the free pages; it walks the whole heap (tens of ms), so it runs once the
server has been idle for a moment, in a thread of its own, and never while requests run.
Elsewhere than glibc (macOS, musl) there is nothing to call, and nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable

log = logging.getLogger("polyvox.serve")


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


class Releaser:
    """`count(n)` with the number of requests in flight; `delay` seconds after it last fell to
    zero (and stayed there), freed memory goes back to the system."""

    def __init__(self, delay: float = 0.5):
        self.delay = delay
        self._trim = _malloc_trim()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._busy = 0

    def count(self, in_flight: int) -> None:
        if self._trim is None:
            return
        with self._lock:
            self._busy = in_flight
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if in_flight == 0:
                self._timer = threading.Timer(self.delay, self._release)
                self._timer.daemon = True
                self._timer.start()

    def _release(self) -> None:
        with self._lock:
            if self._busy or self._timer is None or threading.current_thread() is not self._timer:
                return
            self._timer = None
        assert self._trim is not None
        self._trim(0)
        log.debug("freed memory given back to the system")
