"""The number of speech requests rendering or waiting at once (request bodies are bounded by
the gate, `polyvox.serve.gate`)."""

from __future__ import annotations

import threading
from typing import Any

from polyvox.serve.errors import queue_full


class Queue:
    """Counts speech requests in flight; `enter` refuses with 429 past `depth`."""

    def __init__(self, depth: int, on_change: Any = None):
        self.depth = depth
        self._count = 0
        self._lock = threading.Lock()
        self._on_change = on_change

    @property
    def count(self) -> int:
        return self._count

    def enter(self) -> None:
        with self._lock:
            if self._count >= self.depth:
                raise queue_full(retry_after=1)
            self._count += 1
            self._changed()

    def leave(self) -> None:
        with self._lock:
            self._count -= 1
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self._count)
