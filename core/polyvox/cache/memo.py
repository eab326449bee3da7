"""The cache directory's small text memo (file fingerprints: a checkpoint is hashed once, not on
every run). A failure is a miss, never an error; a cache that cannot be written is still read.

The memo knows nothing of the store that holds it: `ContentCache.store` hands it the two ways
in it needs (the open database, and what a cache that is off still reads)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from polyvox.cache import reading
from polyvox.cache.entries import CacheOff, DamagedEntry


class Memo:
    """Text keys to text values in a cache's directory, beside its audio.

    `using()` opens the cache's database (raising `CacheOff` when it cannot); `read_off(key)`
    reads a key while the cache is off (`reading.MISSING` when it cannot); `touched(key)` hears
    each key read, whose access time is written later with the audio hits' (a read through
    diskcache's `get` is a write transaction of its own: most of a memo read's time)."""

    def __init__(self, using: Callable[[], AbstractContextManager[Any]], read_off: Callable[[str], Any],
                 touched: Callable[[str], None] = lambda key: None):
        self._using = using
        self._read_off = read_off
        self._touched = touched

    def get(self, key: str, default: Any = None) -> Any:
        try:
            try:
                with self._using() as dc:
                    value = reading.read_open(dc, key)
                if value is not reading.MISSING:
                    self._touched(key)
            except CacheOff:  # a cache that cannot be written still remembers its hashes
                value = self._read_off(key)
        except DamagedEntry:
            return default
        return default if value is reading.MISSING else value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, reading.MISSING)
        if value is reading.MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        try:
            with self._using() as dc:
                dc.set(key, value)
        except CacheOff:
            pass

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, reading.MISSING) is not reading.MISSING

    def __iter__(self) -> Iterator[str]:
        return iter(())
