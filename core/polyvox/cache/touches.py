"""Hits remembered, and written as access times later, many at once.

diskcache's `get` under the least-recently-used policy is a write: each hit opens a write
transaction, moves the entry's access time and commits, which costs more than reading the row
and its value together (a warm render is nothing but hits). `ContentCache.get` reads the row
without writing (`reading.read_row`) and remembers the hit here; the access times are written
afterwards, many in one transaction. The eviction order is the same, only recorded a little
later (or not at all if the process dies first: those entries then look as old as their last
recorded read).
"""

from __future__ import annotations

import threading
import time
from typing import Any

#: Hits remembered before their access times are written.
TOUCH_BATCH = 256

_TOUCH = "UPDATE Cache SET access_time = ? WHERE key = ? AND raw = 1"


class Touches:
    """Keys read since the last write of their access times."""

    def __init__(self) -> None:
        self._keys: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, db_key: str) -> bool:
        """Remember a hit; True when enough are waiting to be written (`flush`)."""
        with self._lock:
            self._keys[db_key] = time.time()
            return len(self._keys) >= TOUCH_BATCH

    def flush(self, dc: Any) -> None:
        """Write the access times waiting, in one transaction of `dc` (a diskcache `Cache`).
        Raises what a write raises (a read-only directory, a damaged database); the times are
        dropped either way: they only order eviction."""
        with self._lock:
            keys, self._keys = self._keys, {}
        if keys:
            with dc.transact():
                for db_key, when in keys.items():
                    dc._sql(_TOUCH, (when, db_key))

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
