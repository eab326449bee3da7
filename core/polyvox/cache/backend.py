"""What a content cache is to the renders that use it, whichever store holds the entries.

Two stores implement it: `polyvox.cache.store.ContentCache` (a diskcache directory, the
default) and `polyvox.cache.shared.RedisCache` (Redis or Valkey, shared by servers on many
machines); `polyvox.cache.layered.LayeredCache` puts a directory in front of a shared one.
Every store holds the same entries under the same content keys (`polyvox.cache.entries`:
checksummed float32 bytes, never pickle), turns a damaged entry into a miss and replaces it,
and never fails a render: what it cannot do is said once through `warn("cache", message)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from polyvox.audio import Audio
from polyvox.cache.reports import CacheStats, VerifyReport

Warn = Callable[[str, str], None]


@runtime_checkable
class CacheBackend(Protocol):
    #: Where the entries are: a directory, or a URL (its password left out).
    directory: Any
    #: Hears what the cache works around (kind "cache"); `problems` keeps the messages too.
    warn: Warn | None
    problems: list[str]

    def get(self, key: str) -> Audio | None:
        """The audio under `key`, or None (absent, damaged: dropped, or unreachable)."""

    def expect(self, keys: list[str]) -> None:
        """The keys a render is about to ask for, in order (a store across a network reads
        them ahead, several per round trip; a directory has nothing to do)."""

    def put(self, key: str, audio: Audio, replace: bool = False) -> Audio:
        """Store `audio` unless another writer got there first; what is stored. Never raises."""

    def __contains__(self, key: str) -> bool: ...

    @property
    def store(self) -> Any:
        """The small text -> text memo beside the audio (`get`, `[key]`, `[key] = value`, `in`)."""

    def record_render(self, hits: int, misses: int) -> None:
        """A render's hits and misses, for `stats`; it also ends that render's "cache off"."""

    def unwritable(self) -> str | None:
        """Why nothing new can be stored now, or None."""

    def stats(self) -> CacheStats: ...

    def clear(self) -> int: ...

    def verify(self, repair: bool = False) -> VerifyReport: ...

    def close(self) -> None: ...
