"""The content cache in Redis or Valkey: one cache for every server that can reach it.

Each entry is one string key, ``polyvox:`` + the same key the directory uses (``audio:<hex>``,
``file-sha256:...``, ``takes:...``), holding the same bytes (`polyvox.cache.entries`: a
checksummed header and float32 samples; text for the memo); nothing is pickled. A damaged
entry is dropped and made again, as in a directory. The servers share the statistics: the
last render's hits and misses and the running totals are Redis keys too.

Redis evicts by its own policy (``maxmemory`` with ``allkeys-lru``: docs/deploy.md). A Redis
that cannot be reached, or refuses writes (a replica, ``noeviction`` at its limit), turns the
cache off for the rest of the render, which goes on uncached and says so once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from polyvox.audio import Audio
from polyvox.cache import entries
from polyvox.cache.entries import AUDIO, DamagedEntry
from polyvox.cache.reports import BadEntry, CacheStats, VerifyReport
from polyvox.errors import PolyvoxError

PREFIX = "polyvox:"
_LAST = PREFIX + "stats:last-render"
_TOTALS = PREFIX + "stats:totals"
_STATS = PREFIX + "stats:"
_PROBE = PREFIX + "stats:probe"
#: Entries read in one round trip when a render said which keys come next (`expect`).
WINDOW = 32
_MAX_AHEAD = 4 * WINDOW  # entries read ahead and not yet asked for, at most (a cancelled render's)
#: Read ahead and absent then: asked again when its turn comes (another replica may have made it).
_ABSENT = object()
_SCHEMES = {"redis": "redis", "rediss": "rediss", "valkey": "redis", "valkeys": "rediss", "unix": "unix"}


def is_url(text: str | None) -> bool:
    return bool(text) and urlsplit(str(text)).scheme in _SCHEMES


def shown(url: str) -> str:
    """`url` without its password (it ends up in messages and /health): in its user part
    (``redis://:pw@host``) or its query (``unix:///r.sock?password=pw``, as redis-py reads it)."""
    url = _QUERY_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]*")


class RedisCache:
    """Segment audio by content key in Redis (`url`: ``redis://host:6379/0``, ``rediss://``,
    ``valkey://``, ``unix:///path``). Connects on first use; `timeout` bounds every call."""

    def __init__(self, url: str, warn: Callable[[str, str], None] | None = None, timeout: float = 2.0):
        scheme = urlsplit(url).scheme
        if scheme not in _SCHEMES:
            raise PolyvoxError(f"cache URL {shown(url)!r} is not redis://, rediss://, valkey:// or unix://")
        self.url = url
        self.directory = shown(url)
        self.warn = warn
        self.problems: list[str] = []
        self.timeout = timeout
        self._client: Any = None
        self._off: str | None = None  # why this render goes on without the cache
        self._lock = threading.Lock()
        self._upcoming: dict[str, tuple[list[str], int]] = {}  # key -> (the keys a render expects, where)
        self._ahead: dict[str, Any] = {}  # entries read ahead of their `get`: key -> bytes or None

    # -- the entries ---------------------------------------------------------------------------
    def expect(self, keys: list[str]) -> None:
        """The keys a render will ask for, in order: each `get` of one of them reads the next
        `WINDOW` in the same round trip (a warm render is one round trip per 32 segments, not
        per segment). A hint only: a key asked for out of order is read alone."""
        order = list(dict.fromkeys(k for k in keys if k))
        with self._lock:
            if len(self._upcoming) > 100_000:  # renders that never finished: forget their hints
                self._upcoming.clear()
            for i, key in enumerate(order):
                self._upcoming[key] = (order, i)

    def _read(self, key: str) -> Any:
        """The stored bytes under `key` (None: absent), reading ahead where a render said what comes next."""
        with self._lock:
            ahead = self._ahead.pop(key, None)
            if ahead is not None:
                self._upcoming.pop(key, None)
            order, at = self._upcoming.pop(key, (None, 0)) if ahead is None else (None, 0)
        if ahead is not None and ahead is not _ABSENT:
            return ahead
        if order is None:  # read alone; or absent when read ahead: another replica may have made it since
            return self._call(lambda r: r.get(PREFIX + AUDIO + key))
        window = order[at : at + WINDOW]
        blobs = self._call(lambda r: r.mget([PREFIX + AUDIO + k for k in window])) or [None] * len(window)
        with self._lock:
            if len(self._ahead) > _MAX_AHEAD:
                self._ahead.clear()
            for k, blob in zip(window[1:], blobs[1:], strict=True):
                if k in self._upcoming:
                    self._ahead[k] = _ABSENT if blob is None else blob
        return blobs[0]

    def get(self, key: str) -> Audio | None:
        db_key = PREFIX + AUDIO + key
        blob = self._read(key)
        if blob is None:
            return None
        try:
            return entries.decode_audio(key, blob)
        except DamagedEntry as exc:
            self._report(f"cache entry {key[:12]!r}... {exc}: it is dropped and synthesized again")
            self._call(lambda r: r.delete(db_key))
            return None

    def put(self, key: str, audio: Audio, replace: bool = False) -> Audio:
        """First writer wins (``SET NX``), as in a directory; `replace` overwrites. A damaged
        entry in the way is replaced."""
        blob = entries.encode_audio(key, audio)
        db_key = PREFIX + AUDIO + key
        with self._lock:  # read ahead before this was made: a later `get` asks Redis again
            self._ahead.pop(key, None)
        if replace:
            self._call(lambda r: r.set(db_key, blob))
            return audio
        if self._call(lambda r: r.set(db_key, blob, nx=True)) is not None or self._off is not None:
            return audio
        existing = self.get(key)  # another writer's (or gone: evicted, damaged and dropped)
        if existing is not None:
            return existing
        self._call(lambda r: r.set(db_key, blob))
        return audio

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    @property
    def store(self) -> _Memo:
        return _Memo(self)

    # -- the whole cache ---------------------------------------------------------------------------
    def record_render(self, hits: int, misses: int) -> None:
        """The last render's hits and misses, and the totals, for every server to see; ends
        this render's "cache off" (the next render tries Redis again)."""
        with self._lock:
            was_off, self._off = self._off, None
        if was_off is not None:
            return  # Redis was not there a moment ago: the next render finds out
        def record(r: Any) -> Any:
            pipe = r.pipeline(transaction=True)
            pipe.hset(_LAST, mapping={"hits": hits, "misses": misses})
            pipe.hincrby(_TOTALS, "hits", hits)
            pipe.hincrby(_TOTALS, "misses", misses)
            return pipe.execute()

        self._call(record)
        with self._lock:
            self._off = None

    def unwritable(self) -> str | None:
        try:
            client = self._connect()
            client.set(_PROBE, b"1", ex=60)
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            return _reason(exc)
        return None

    def stats(self) -> CacheStats:
        client = self._admin()
        count, size = 0, 0
        for batch in _batches(client.scan_iter(match=PREFIX + AUDIO + "*", count=1000), 500):
            pipe = client.pipeline(transaction=False)
            for k in batch:
                pipe.strlen(k)
            lengths = [n for n in pipe.execute(raise_on_error=False) if isinstance(n, int)]  # a list there: no entry
            count += len(lengths)
            size += sum(lengths)
        last = {k.decode(): int(v) for k, v in client.hgetall(_LAST).items()}
        totals = {k.decode(): int(v) for k, v in client.hgetall(_TOTALS).items()}
        limit = int(client.info("memory").get("maxmemory", 0) or 0)
        return CacheStats(entries=count, size_bytes=size, limit_bytes=limit, directory=self.directory,
                          last_hits=last.get("hits", 0), last_misses=last.get("misses", 0),
                          total_hits=totals.get("hits"), total_misses=totals.get("misses"))

    def clear(self) -> int:
        """Remove every polyvox key (other keys in the database stay); how many were audio."""
        client = self._admin()
        removed = 0
        for batch in _batches(client.scan_iter(match=PREFIX + "*", count=1000), 500):
            removed += sum(1 for k in batch if k.startswith((PREFIX + AUDIO).encode()))
            client.unlink(*batch)
        return removed

    def verify(self, repair: bool = False) -> VerifyReport:
        client = self._admin()
        checked, bad = 0, []
        for batch in _batches(client.scan_iter(match=PREFIX + "*", count=1000), 200):
            batch = [k for k in batch if not k.startswith(_STATS.encode())]
            for k, value in zip(batch, client.mget(batch), strict=True):
                checked += 1
                # MGET reads a key of another type (a list, a hash) as nil, as it does one evicted
                reason = "not a string (a key of another type under polyvox's name)" if value is None \
                    and client.type(k) not in (b"none", b"string") else _check(k.decode()[len(PREFIX):], value)
                if reason is not None:
                    bad.append(BadEntry(k.decode(), reason))
        removed = client.unlink(*[b.key for b in bad]) if repair and bad else 0
        return VerifyReport(checked, tuple(bad), int(removed))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- internals -------------------------------------------------------------------------------
    def _connect(self) -> Any:
        with self._lock:
            if self._client is None:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                url = self.url.replace("valkey", "redis", 1) if self.url.startswith("valkey") else self.url
                # one retry, of a connection error only: the first call after a Redis restart meets a
                # dead pooled connection; a Redis that does not answer costs one timeout, not two
                retry = Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,))
                self._client = redis.Redis.from_url(url, socket_timeout=self.timeout,
                                                    socket_connect_timeout=self.timeout,
                                                    retry=retry, health_check_interval=0)
            return self._client

    def _call(self, action: Callable[[Any], Any]) -> Any:
        """`action(client)`, or None once Redis has failed this render (said once)."""
        if self._off is not None:
            return None
        import redis

        try:
            return action(self._connect())
        except redis.exceptions.ResponseError as exc:
            # Redis answered: a key of another type under ours (WRONGTYPE: a write replaces it), a
            # full Redis refusing writes (OOM) — this call fails, the cache stays on for reads and
            # for every other render running in this process
            self._report_once(f"the cache at {self.directory} refused a command ({_reason(exc)})")
            return None
        except redis.exceptions.RedisError as exc:
            self._turn_off(exc)
            return None

    def _admin(self) -> Any:
        """The client for stats, clear and verify: a Redis that cannot be reached is a one-line error."""
        import redis

        client = self._connect()
        try:
            client.ping()
        except redis.exceptions.RedisError as exc:
            raise PolyvoxError(f"cannot use the cache at {self.directory}: {_reason(exc)}") from None
        return client

    def _turn_off(self, exc: BaseException) -> None:
        reason = _reason(exc)
        with self._lock:
            first = self._off is None
            self._off = reason
        if first:
            self._report(f"the cache at {self.directory} cannot be used ({reason}): this render goes on "
                         "without it (nothing is read from it or stored in it)")

    def _report_once(self, message: str) -> None:
        if message not in self.problems:
            self._report(message)

    def _report(self, message: str) -> None:
        self.problems.append(message)
        if self.warn is not None:
            self.warn("cache", message)


class _Memo:
    """The file-hash and takes memo, as Redis keys beside the audio."""

    def __init__(self, cache: RedisCache):
        self._cache = cache

    def get(self, key: str, default: Any = None) -> Any:
        value = self._cache._call(lambda r: r.get(PREFIX + key))
        if value is None:
            return default
        try:
            return value.decode()
        except UnicodeDecodeError:
            return default

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        self._cache._call(lambda r: r.set(PREFIX + key, value.encode()))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(())


def _check(key: str, value: Any) -> str | None:
    """Why the entry under `key` (without the prefix) is bad, or None."""
    if value is None:
        return None  # evicted between the scan and the read
    try:
        if key.startswith(AUDIO):
            entries.decode_audio(key[len(AUDIO):], value)
        elif key.startswith(entries.FILE_HASH):
            entries.check_file_hash(value.decode())
        elif key.startswith(entries.TAKES):
            entries.check_takes(value.decode())
        elif key.startswith(entries.LOUDNESS):
            entries.check_loudness(value.decode())
        else:
            return "its key is not one polyvox writes"
    except DamagedEntry as exc:
        return str(exc)
    except UnicodeDecodeError:
        return "is not text"
    return None


def _batches(keys: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
