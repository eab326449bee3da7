"""The cache as a running server sees it: its state for ``/health`` (checked at start, then again
in the background at most every `CacheWatch.EVERY` seconds, so a probe never waits on a Redis that
does not answer), and each render's ``cache`` warning in the server log."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from polyvox import Kernel
from polyvox.events import Warning as RenderWarning

log = logging.getLogger("polyvox.serve")


class CacheWatch:
    """`state()`: "ok", "off" (a kernel without a cache) or "read-only" (a read-only mount, a
    full disk, a Redis gone or refusing writes: what it holds is served, nothing new is stored).
    A change is logged once."""

    #: Seconds a state is reported before it is checked again.
    EVERY = 30.0

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self._lock = threading.Lock()
        self._checking = False
        self._state, self._at = self._check(), time.monotonic()

    @property
    def known(self) -> str:
        """The state last found, without checking again."""
        return self._state

    def state(self) -> str:
        with self._lock:
            stale = not self._checking and time.monotonic() - self._at >= self.EVERY
            if stale:
                self._checking = True
        if stale:
            threading.Thread(target=self._refresh, name="polyvox-cache-check", daemon=True).start()
        return self._state

    def _refresh(self) -> None:
        try:
            state = self._check(self._state)
        finally:
            with self._lock:
                self._checking = False
                self._at = time.monotonic()
        self._state = state

    def _check(self, before: str | None = None) -> str:
        if self.kernel.cache is None:
            return "off"
        try:
            problem = self.kernel.cache.unwritable()
        except Exception as exc:  # noqa: BLE001 - a store failing in a new way: it cannot be written
            problem = f"{type(exc).__name__}: {exc}"
        state = "ok" if problem is None else "read-only"
        if state != before and problem is not None:
            log.warning("the cache %s cannot be written (%s): the server serves what it holds and stores nothing "
                        "new", self.kernel.cache.directory, problem)
        elif state != before and before is not None:
            log.warning("the cache %s can be written again", self.kernel.cache.directory)
        return state


class CacheLog:
    """A kernel listener: each render's `cache` warning (the cache turned off, an entry healed)
    in the server log too, the same message at most once a minute (a Redis outage warns every
    render while it lasts); none while `watch` already reports the cache read-only."""

    EVERY = 60.0

    def __init__(self, watch: CacheWatch | None = None) -> None:
        self.watch = watch
        self._said: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if not isinstance(event, RenderWarning) or event.kind != "cache":
            return
        if self.watch is not None and self.watch.known != "ok":
            return
        now = time.monotonic()
        with self._lock:
            if now - self._said.get(event.message, -self.EVERY) < self.EVERY:
                return
            self._said = {m: t for m, t in self._said.items() if now - t < self.EVERY}
            self._said[event.message] = now
        log.warning("cache: %s", event.message)
