"""Which cache a kernel gets: a directory (diskcache, the default), or a shared Redis/Valkey
cache from a URL (``--cache redis://host:6379/0``, ``$POLYVOX_CACHE_URL``), optionally with a
directory in front of it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from polyvox.cache.store import DEFAULT_SIZE_LIMIT, ContentCache
from polyvox.errors import PolyvoxError


def open_cache(directory: str | Path | None = None, size_limit: int = DEFAULT_SIZE_LIMIT,
               url: str | None = None, local: bool = False) -> Any:
    """A `ContentCache` in `directory`, or, given `url` (else ``$POLYVOX_CACHE_URL``), a
    `RedisCache` there, behind a `ContentCache` in `directory` when `local`."""
    from polyvox.cache import shared

    url = url or os.environ.get("POLYVOX_CACHE_URL") or None
    if url is None:
        return ContentCache(directory, size_limit)
    if not shared.is_url(url):
        raise PolyvoxError(f"cache URL {shared.shown(url)!r} is not a Redis URL: give redis://HOST:6379/0 "
                           "(rediss://, valkey:// and unix:// work too)")
    try:
        import redis  # noqa: F401
    except ImportError:
        raise PolyvoxError("a Redis cache needs redis-py: pip install 'polyvox[serve]'") from None
    remote = shared.RedisCache(url)
    if not local:
        return remote
    from polyvox.cache.layered import LayeredCache

    return LayeredCache(ContentCache(directory, size_limit), remote)
