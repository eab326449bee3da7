"""The content cache: one diskcache directory shared by every engine, mode, process and run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from polyvox.audio import Audio
from polyvox.errors import PolyvoxError

#: Default size limit of the cache directory (diskcache evicts least-recently-used entries past it).
DEFAULT_SIZE_LIMIT = 4 * 1024**3
_LAST_RENDER = "last-render.json"


def default_cache_dir() -> Path:
    """``$POLYVOX_CACHE_DIR``, else the platform's user cache directory."""
    env = os.environ.get("POLYVOX_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("polyvox")) / "audio"


@attrs.frozen
class CacheStats:
    entries: int
    size_bytes: int
    limit_bytes: int
    directory: str
    #: Hits and misses of the last render that used this directory (any process).
    last_hits: int = 0
    last_misses: int = 0

    @property
    def last_hit_rate(self) -> float | None:
        total = self.last_hits + self.last_misses
        return self.last_hits / total if total else None


class ContentCache:
    """Segment audio by content key. Entries are written atomically; readers never see half a file."""

    def __init__(self, directory: str | Path | None = None, size_limit: int = DEFAULT_SIZE_LIMIT):
        import diskcache

        self.directory = Path(directory) if directory else default_cache_dir()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._dc = diskcache.Cache(
                str(self.directory), size_limit=size_limit, eviction_policy="least-recently-used"
            )
        except OSError as exc:
            reason = exc.strerror or exc
            raise PolyvoxError(f"cannot use cache directory {str(self.directory)!r}: {reason}") from None
        self.size_limit = size_limit

    @property
    def store(self) -> Any:
        """The underlying diskcache, for small memos such as file fingerprints."""
        return self._dc

    def get(self, key: str) -> Audio | None:
        value = self._dc.get(("audio", key))
        if value is None:
            return None
        rate, raw = value
        return Audio(np.frombuffer(raw, dtype=np.float32), rate)

    def put(self, key: str, audio: Audio) -> Audio:
        """Commit `audio` under `key` unless another process got there first; return what is stored.

        First writer wins, so processes rendering overlapping scripts at once agree on every
        segment even with engines whose output varies from call to call.
        """
        value = (audio.sample_rate, audio.samples.astype(np.float32).tobytes())
        if self._dc.add(("audio", key), value):
            return audio
        return self.get(key) or audio

    def __contains__(self, key: str) -> bool:
        return ("audio", key) in self._dc

    def record_render(self, hits: int, misses: int) -> None:
        """Remember the last render's hits and misses for `stats` (best effort: never fails a render)."""
        import tempfile

        try:
            with tempfile.NamedTemporaryFile("w", dir=self.directory, suffix=".tmp", delete=False) as fh:
                fh.write(json.dumps({"hits": hits, "misses": misses}))
            os.replace(fh.name, self.directory / _LAST_RENDER)  # atomic: readers see old or new
        except OSError:
            pass

    def stats(self) -> CacheStats:
        entries = sum(1 for k in self._dc.iterkeys() if isinstance(k, tuple) and k[0] == "audio")
        last = {"hits": 0, "misses": 0}
        try:
            last = json.loads((self.directory / _LAST_RENDER).read_text())
        except (OSError, ValueError):
            pass
        return CacheStats(
            entries=entries,
            size_bytes=int(self._dc.volume()),
            limit_bytes=self.size_limit,
            directory=str(self.directory),
            last_hits=int(last.get("hits", 0)),
            last_misses=int(last.get("misses", 0)),
        )

    def clear(self) -> int:
        """Remove every entry; returns how many were removed."""
        (self.directory / _LAST_RENDER).unlink(missing_ok=True)
        return int(self._dc.clear())

    def close(self) -> None:
        self._dc.close()
