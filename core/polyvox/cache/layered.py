"""A cache directory in front of a shared cache: hits this machine made before are read from
its own disk, the rest from the shared store (and kept on disk for next time); what is made
here goes to both. The shared store is the one the statistics and `clear` speak of."""

from __future__ import annotations

from typing import Any

from polyvox.audio import Audio
from polyvox.cache.backend import CacheBackend, Warn
from polyvox.cache.reports import CacheStats, VerifyReport
from polyvox.cache.store import ContentCache


class LayeredCache:
    def __init__(self, local: ContentCache, shared: CacheBackend):
        self.local = local
        self.shared = shared
        self.problems = shared.problems

    @property
    def directory(self) -> Any:
        return f"{self.shared.directory} (with {self.local.directory} in front)"

    @property
    def warn(self) -> Warn | None:
        return self.shared.warn

    @warn.setter
    def warn(self, warn: Warn | None) -> None:
        self.local.warn = self.shared.warn = warn

    def get(self, key: str) -> Audio | None:
        audio = self.local.get(key)
        if audio is not None:
            return audio
        audio = self.shared.get(key)
        if audio is not None:
            self.local.put(key, audio, replace=True)
        return audio

    def expect(self, keys: list[str]) -> None:
        self.shared.expect(keys)

    def put(self, key: str, audio: Audio, replace: bool = False) -> Audio:
        stored = self.shared.put(key, audio, replace)  # the shared store decides which take wins
        self.local.put(key, stored, replace=True)
        return stored

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    @property
    def store(self) -> Any:
        return self.shared.store

    def record_render(self, hits: int, misses: int) -> None:
        self.local.record_render(hits, misses)
        self.shared.record_render(hits, misses)

    def unwritable(self) -> str | None:
        return self.shared.unwritable()

    def stats(self) -> CacheStats:
        return self.shared.stats()

    def clear(self) -> int:
        self.local.clear()
        return self.shared.clear()

    def verify(self, repair: bool = False) -> VerifyReport:
        return self.shared.verify(repair)

    def close(self) -> None:
        self.local.close()
        self.shared.close()
