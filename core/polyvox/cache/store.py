"""The content cache: one diskcache directory shared by every engine, mode, process and run.

A cache is never the reason a render fails. An entry that cannot be read or fails its
checksum is a miss (the segment is synthesized again and the entry replaced); a database that
cannot be opened is moved aside and a fresh one started; a directory that is read-only, full
or otherwise unwritable turns the cache off until the render ends. Each of these is reported
once through `warn(kind, message)`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyvox.audio import Audio
from polyvox.cache import checks, entries, leftovers, reading
from polyvox.cache.entries import AUDIO, CacheOff, DamagedEntry
from polyvox.cache.faults import failure_reason, is_unwritable, new_folder
from polyvox.cache.memo import Memo
from polyvox.cache.reports import BadEntry, CacheStats, VerifyReport
from polyvox.cache.touches import Touches
from polyvox.errors import PolyvoxError

#: Default size limit of the cache directory (diskcache evicts least-recently-used entries past it).
DEFAULT_SIZE_LIMIT = 4 * 1024**3
_DB_FILES = ("cache.db", "cache.db-wal", "cache.db-shm")

Warn = Callable[[str, str], None]


def default_cache_dir() -> Path:
    """``$POLYVOX_CACHE_DIR``, else the platform's user cache directory."""
    env = os.environ.get("POLYVOX_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("polyvox")) / "audio"


class ContentCache:
    """Segment audio by content key. Entries are written atomically; readers never see half a file.

    `warn(kind, message)` hears every problem the cache works around (kind ``"cache"``);
    `problems` keeps them too. The database is opened on first use, so problems opening it
    are reported to the render that meets them.
    """

    def __init__(self, directory: str | Path | None = None, size_limit: int = DEFAULT_SIZE_LIMIT,
                 warn: Warn | None = None):
        # a path that is a file cannot be created as a folder: like a read-only one, the render
        # goes on without storing and says why (docs/cache.md)
        if directory is not None and not isinstance(directory, (str, os.PathLike)):
            from polyvox.errors import ParameterError

            raise ParameterError(f"cache directory {directory!r} is not a path: give a str or a pathlib.Path")
        self.directory = Path(directory) if directory else default_cache_dir()
        self.size_limit = size_limit
        self.warn = warn
        self.problems: list[str] = []
        self._stored = 0  # takes stored since the last render ended
        #: Each damaged database moved aside: (the folder it went to, why).
        self.moved_aside: list[tuple[Path, str]] = []
        self._dc: Any = None
        self._off: str | None = None  # why the cache is off until the render ends
        self._reader: reading.Reader | None | bool = None  # while off: reads what it holds (False: cannot)
        self._lock = threading.RLock()
        self._touches = Touches()  # hits whose access times are not written yet

    # -- the entries ---------------------------------------------------------------------------
    def get(self, key: str) -> Audio | None:
        """The audio under `key`, or None (a miss) when it is absent, damaged or unreadable."""
        db_key = AUDIO + key
        try:
            with self._using() as dc:
                try:
                    blob = reading.read_open(dc, db_key)
                    if blob is reading.MISSING:
                        return None
                    audio = entries.decode_audio(key, blob)
                except DamagedEntry as exc:  # from the checks, or from the Disk refusing a pickle
                    self._damaged(dc, db_key, exc)
                    return None
        except CacheOff:
            return self._read_only(key) if self._off is not None else None
        self._touch(db_key)
        return audio

    def expect(self, keys: list[str]) -> None:
        """Nothing to do: a read from the directory costs the same in any order (`CacheBackend`)."""

    def put(self, key: str, audio: Audio, replace: bool = False) -> Audio:
        """Commit `audio` under `key` unless another process got there first; return what is stored.

        First writer wins, so processes rendering overlapping scripts at once agree on every
        segment even with engines whose output varies from call to call; `replace` (a render
        that asked for a new take) overwrites instead. A damaged entry in the way is replaced.
        Never raises: a cache that cannot be written is turned off.
        """
        blob = entries.encode_parts(key, audio)
        self._stored += 1
        try:
            with self._using() as dc:
                if replace:
                    dc.set(AUDIO + key, blob)
                    return audio
                if dc.add(AUDIO + key, blob):
                    return audio
                existing = self.get(key)
                if existing is not None:
                    return existing
                with self._using() as again:  # absent or damaged (and deleted): write ours
                    again.set(AUDIO + key, blob)
        except CacheOff:
            pass
        return audio

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    @property
    def store(self) -> Memo:
        """A small text -> text memo in the same directory (file fingerprints)."""
        return Memo(self._using, lambda key: self._read_raw(key) if self._off is not None else reading.MISSING,
                    self._touch)

    # -- the directory ---------------------------------------------------------------------------
    def record_render(self, hits: int, misses: int) -> None:
        """Remember the last render's hits and misses for `stats`, with its hits' access times, in
        one transaction (best effort: never fails a render). Called at the end of every render,
        so it also ends a render's "cache off": the next render tries the directory again."""
        full = False
        try:
            with self._using() as dc, dc.transact():
                self._touches.flush(dc)
                dc.set(entries.LAST_RENDER, entries.last_render(hits, misses))
                stored, self._stored = self._stored, 0
                full = stored > 0 and len(dc) < stored  # fewer entries than were just stored
        except CacheOff:
            pass
        if full and self.warn is not None:  # each new take now pushes out an old one
            self.warn("cache", f"this render made more than the cache holds (its limit: {self.size_limit / 2**20:,.0f} "
                      "MB): its first takes were removed for its last, so it will be synthesized again next time; "
                      "raise cache_size_limit (POLYVOX_CACHE_SIZE_LIMIT=20GB)")
        with self._lock:
            self._off = None
            if isinstance(self._reader, reading.Reader):
                self._reader.close()
            self._reader = None

    def unwritable(self) -> str | None:
        """Why nothing new can be stored in the directory ("read-only file system", "attempt to
        write a readonly database", ...), or None when it can: the database is opened and a
        file written beside it, now. Renders find out by themselves (and say so, once each); a
        host that runs for long, such as a server, asks at start."""
        import tempfile

        try:
            self._open()
        except CacheOff:
            return self._off
        try:
            with tempfile.NamedTemporaryFile(dir=self.directory, suffix=".tmp"):
                pass
        except OSError as exc:
            return failure_reason(exc)
        return None

    def stats(self) -> CacheStats:
        def count(dc: Any) -> tuple[int, int, dict[str, int]]:
            try:
                last = entries.check_last_render(dc.get(entries.LAST_RENDER))
            except DamagedEntry:  # no render yet
                last = {"hits": 0, "misses": 0}
            return (sum(1 for k in dc.iterkeys() if isinstance(k, str) and k.startswith(AUDIO)), int(dc.volume()),
                    last)

        entries_, size, last = self._admin(count)
        return CacheStats(
            entries=entries_,
            size_bytes=size,
            limit_bytes=self.size_limit,
            directory=str(self.directory),
            last_hits=last["hits"],
            last_misses=last["misses"],
        )

    def clear(self) -> int:
        """Remove everything; returns how many audio entries were removed (what `stats` counts;
        the file-hash memo, unreadable entries and value files no entry refers to go too, uncounted)."""
        def clear(dc: Any) -> int:
            count = sum(1 for k in dc.iterkeys() if isinstance(k, str) and k.startswith(AUDIO))
            dc.clear()
            leftovers.remove(leftovers.unreferenced(dc, self.directory))
            return count

        return self._admin(clear)

    def verify(self, repair: bool = False) -> VerifyReport:
        """Check the database file, then read back and check every entry; with `repair`, drop
        the bad ones. A damaged database is moved aside (as on any use) and listed."""
        first = len(self.moved_aside)

        def check(dc: Any) -> tuple[int, list[tuple[Any, BadEntry]]]:
            problem = checks.database_problem(dc)
            if problem is not None:  # it opens, but SQLite finds it damaged: rows would be missed
                raise sqlite3.DatabaseError(problem)
            bad = []
            keys = list(dc.iterkeys())
            for key in keys:
                reason = checks.check_row(dc, key)
                if reason is not None:
                    bad.append((key, BadEntry(str(key), reason)))
            return len(keys), bad

        checked, bad = self._admin(check)
        bad[:0] = [(None, BadEntry("cache.db", f"the database is damaged ({why}): moved aside to {str(aside)!r} "
                                               "and a fresh cache started")) for aside, why in self.moved_aside[first:]]
        dc = self._require()
        stray = leftovers.unreferenced(dc, self.directory, settled=leftovers.SETTLED_SECONDS)
        bad += [(None, BadEntry(f"file {p.relative_to(self.directory)}", "a value file no entry refers to "
                                f"({size} bytes left by a write cut short)")) for p, size in stray.items()]
        removed = 0
        if repair:
            for key, _ in bad:
                if key is not None:
                    removed += bool(dc.delete(key))
            removed += leftovers.remove(stray)
        return VerifyReport(checked, tuple(b for _, b in bad), removed)

    def close(self) -> None:
        self._flush_touches()
        with self._lock:
            if self._dc is not None:
                self._dc.close()
                self._dc = None

    # -- internals ---------------------------------------------------------------------------
    def _report(self, message: str) -> None:
        self.problems.append(message)
        if self.warn is not None:
            self.warn("cache", message)

    def _admin(self, action: Callable[[Any], Any]) -> Any:
        """`action(dc)` for stats, clear and verify: a database found damaged on the way is moved
        aside and the action runs again on a fresh one; an unusable directory is a one-line error."""
        for _ in range(2):
            try:
                with self._using() as dc:
                    return action(dc)
            except CacheOff:
                if self._off is not None:
                    break
        raise PolyvoxError(f"cannot use cache directory {str(self.directory)!r}: "
                           f"{self._off or 'its database is damaged again after a fresh start'}")

    def _require(self) -> Any:
        """The open database, or a one-line error (for stats, clear and verify)."""
        try:
            return self._open()
        except CacheOff:
            raise PolyvoxError(f"cannot use cache directory {str(self.directory)!r}: {self._off}") from None

    def _open(self) -> Any:
        with self._lock:
            if self._off is not None:
                raise CacheOff
            if self._dc is None:
                self._dc = self._connect()
            return self._dc

    def _connect(self, retry: bool = True) -> Any:
        import diskcache

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            return diskcache.Cache(str(self.directory), size_limit=self.size_limit,
                                   eviction_policy="least-recently-used", disk=entries._disk_class())
        except sqlite3.DatabaseError as exc:
            if is_unwritable(exc) or not retry:
                self._turn_off(exc)
            self._quarantine(exc)
            return self._connect(retry=False)
        except (OSError, diskcache.Timeout) as exc:
            self._turn_off(exc)

    def _quarantine(self, exc: BaseException) -> None:
        """Move the damaged database and its value files into ``damaged-<time>/``."""
        aside = self.directory / time.strftime("damaged-%Y%m%d-%H%M%S")
        try:
            aside = new_folder(aside)  # a second damage within the second gets a folder of its own
            for item in list(self.directory.iterdir()):
                if item.name in _DB_FILES or (item.is_dir() and len(item.name) == 2):
                    os.replace(item, aside / item.name)
        except OSError as err:
            self._turn_off(err)
        self.moved_aside.append((aside, str(exc)))
        self._report(f"the cache database in {str(self.directory)!r} could not be read ({exc}): "
                     f"moved aside to {str(aside)!r} and a fresh cache started")

    def _turn_off(self, exc: BaseException) -> None:
        reason = failure_reason(exc)
        with self._lock:
            first = self._off is None
            self._off = reason
        if first:
            self._report(f"cache directory {str(self.directory)!r} cannot be written ({reason}): nothing new "
                         "is stored in it for this render (what it holds is still read)")
        raise CacheOff

    def _read_only(self, key: str) -> Audio | None:
        """The audio under `key` while the cache is off, read without writing (a miss if it
        cannot be read at all)."""
        try:
            blob = self._read_raw(AUDIO + key)
            return None if blob is reading.MISSING else entries.decode_audio(key, blob)
        except DamagedEntry as exc:
            self._report(f"cache entry {key[:12]!r}... {exc}: it is synthesized again")
            return None

    def _read_raw(self, db_key: str) -> Any:
        """The value under `db_key` through a read-only connection, or `reading.MISSING`."""
        with self._lock:
            if self._reader is None:
                try:
                    self._reader = reading.Reader(self.directory)
                except (OSError, sqlite3.Error):
                    self._reader = False
            reader = self._reader
        try:
            return reader.get(db_key) if reader else reading.MISSING
        except (OSError, sqlite3.Error):
            return reading.MISSING

    def _touch(self, db_key: str) -> None:
        """A hit: its access time is written with the next ones (`Touches`)."""
        if self._touches.add(db_key):
            self._flush_touches()

    def _flush_touches(self) -> None:
        """Write the access times of the hits so far (best effort: they only order eviction)."""
        try:
            with self._using() as dc:
                self._touches.flush(dc)
        except CacheOff:
            pass

    def _damaged(self, dc: Any, db_key: str, exc: BaseException) -> None:
        self._report(f"cache entry {db_key[len(AUDIO):][:12] or db_key!r}... {exc}: "
                     "it is dropped and synthesized again")
        try:
            dc.delete(db_key)
        except Exception:  # noqa: BLE001 - dropping is best effort; the next put overwrites it
            pass

    def _using(self) -> _Using:
        return _Using(self)


class _Using:
    """``with cache._using() as dc``: the open database; its failures become `CacheOff` (after
    moving a damaged database aside or turning the cache off)."""

    def __init__(self, cache: ContentCache):
        self.cache = cache
        self.dc: Any = None

    def __enter__(self) -> Any:
        self.dc = self.cache._open()
        return self.dc

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        import diskcache

        cache = self.cache
        if exc is None or isinstance(exc, (CacheOff, DamagedEntry)):
            return False
        if isinstance(exc, sqlite3.DatabaseError) and not is_unwritable(exc):
            with cache._lock:
                if cache._dc is self.dc:  # other threads may meet the same damage: move it once
                    cache._dc = None
                    try:
                        self.dc.close()
                    except Exception:  # noqa: BLE001
                        pass
                    try:
                        cache._quarantine(exc)
                    except CacheOff:
                        pass
            raise CacheOff from None
        if isinstance(exc, (OSError, sqlite3.DatabaseError, diskcache.Timeout)):
            cache._turn_off(exc)  # raises CacheOff
        return False
