"""Reading cache entries without writing, and a cache directory that cannot be written.

diskcache writes when it opens a directory and, with the least-recently-used policy, on every
read (each hit moves the entry's clock). So a read-only mount, a directory of someone else's,
a full disk or a quota refuses reads as well as writes, and everything already made would be
made again. `Reader` reads the rows with a read-only SQLite connection and the value files
through polyvox's own `Disk` (no pickle), so the segments a cache holds are still used.
`read_open` reads a row of a cache that is open for writing the same way, so a hit is no
write (the hits' access times are written in batches: `polyvox.cache.touches`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyvox.cache import entries

#: What `Reader.get` returns for a key it does not hold.
MISSING = object()

_SELECT = ("SELECT mode, filename, value FROM Cache WHERE key = ? AND raw = 1"
           " AND (expire_time IS NULL OR expire_time > ?)")


class Reader:
    """Rows of ``cache.db`` in `directory`, read-only. Raises `sqlite3.Error` or `OSError`
    when there is no database to read."""

    def __init__(self, directory: Path):
        db = directory / "cache.db"
        if not db.is_file():
            raise FileNotFoundError(f"no database in {str(directory)!r}")
        self._con = _connect(db)
        self._disk = entries._disk_class()(str(directory))
        self._lock = threading.Lock()

    def get(self, db_key: str) -> Any:
        """The value under `db_key` (bytes or text), or `MISSING` (see `read_row`)."""
        with self._lock:
            return read_row(self._con.execute, self._disk, db_key)

    def close(self) -> None:
        with self._lock:
            self._con.close()


def read_row(execute: Callable[..., Any], disk: Any, db_key: str) -> Any:
    """The value under `db_key` (bytes or text), or `MISSING`, read without writing: `execute`
    runs SQL on the cache's database, `disk` is its `Disk`. A value file that cannot be read
    raises OSError; one stored the way polyvox never reads raises `DamagedEntry`."""
    rows = execute(_SELECT, (db_key, time.time())).fetchall()
    if not rows:
        return MISSING
    mode, filename, value = rows[0]
    return disk.fetch(mode, filename, value, False)


def read_open(dc: Any, db_key: str) -> Any:
    """The value under `db_key` in `dc`, an open diskcache `Cache`, without the write diskcache
    makes on every read (`polyvox.cache.touches`). A value file gone meanwhile (evicted,
    deleted) is `MISSING`, as for diskcache's own `get`."""
    try:
        return read_row(dc._sql, dc._disk, db_key)
    except OSError:
        return MISSING


def _connect(db: Path) -> sqlite3.Connection:
    """Read-only; on a read-only file system, whose write-ahead log cannot be opened, as an
    immutable file (nobody can be writing it there)."""
    error: sqlite3.Error | None = None
    for flags in ("mode=ro", "mode=ro&immutable=1"):
        con = None
        try:
            con = sqlite3.connect(f"{db.as_uri()}?{flags}", uri=True, timeout=1.0, check_same_thread=False)
            con.execute("SELECT 1 FROM Cache LIMIT 1").fetchall()
            return con
        except sqlite3.Error as exc:
            error = exc
            if con is not None:
                con.close()
    assert error is not None
    raise error
