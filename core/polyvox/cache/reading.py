"""Reading a cache directory that cannot be written.

diskcache writes when it opens a directory and, with the least-recently-used policy, on every
read (each hit moves the entry's clock). So a read-only mount, a directory of someone else's,
a full disk or a quota refuses reads as well as writes, and everything already made would be
made again. `Reader` reads the rows with a read-only SQLite connection and the value files
through polyvox's own `Disk` (no pickle), so the segments a cache holds are still used.
"""

from __future__ import annotations

import sqlite3
import threading
import time
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
        """The value under `db_key` (bytes or text), or `MISSING`. A value file that cannot be
        read raises OSError; one stored the way polyvox never reads raises `DamagedEntry`."""
        with self._lock:
            rows = self._con.execute(_SELECT, (db_key, time.time())).fetchall()
        if not rows:
            return MISSING
        mode, filename, value = rows[0]
        return self._disk.fetch(mode, filename, value, False)

    def close(self) -> None:
        with self._lock:
            self._con.close()


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
