"""The cache directory's small text memo (file fingerprints: a checkpoint is hashed once, not on
every run). A failure is a miss, never an error; a cache that cannot be written is still read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from polyvox.cache import reading
from polyvox.cache.entries import CacheOff, DamagedEntry

if TYPE_CHECKING:
    from polyvox.cache.store import ContentCache



class Memo:
    """Text keys to text values in `cache`'s directory, beside its audio."""

    def __init__(self, cache: ContentCache):
        self._cache = cache

    def get(self, key: str, default: Any = None) -> Any:
        try:
            try:
                with self._cache._using() as dc:
                    value = dc.get(key, default=reading.MISSING)
            except CacheOff:  # a cache that cannot be written still remembers its hashes
                value = self._cache._read_raw(key) if self._cache._off is not None else reading.MISSING
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
            with self._cache._using() as dc:
                dc.set(key, value)
        except CacheOff:
            pass

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, reading.MISSING) is not reading.MISSING

    def __iter__(self) -> Iterator[str]:
        return iter(())
