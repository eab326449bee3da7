"""What the cache says about itself: its size and last hit rate (`polyvox cache stats`) and what
a check of every entry found (`polyvox cache verify`)."""

from __future__ import annotations

import attrs


@attrs.frozen
class CacheStats:
    entries: int
    size_bytes: int
    limit_bytes: int
    directory: str
    #: Hits and misses of the last render that used this directory (any process).
    last_hits: int = 0
    last_misses: int = 0
    #: Hits and misses of every render since the cache was cleared, where the store keeps them
    #: (a shared cache does, for all its servers; a directory does not: None).
    total_hits: int | None = None
    total_misses: int | None = None

    @property
    def last_hit_rate(self) -> float | None:
        total = self.last_hits + self.last_misses
        return self.last_hits / total if total else None


@attrs.frozen
class BadEntry:
    key: str
    reason: str


@attrs.frozen
class VerifyReport:
    """What `ContentCache.verify` found: entries checked, the bad ones, how many were dropped."""

    checked: int
    bad: tuple[BadEntry, ...]
    removed: int
