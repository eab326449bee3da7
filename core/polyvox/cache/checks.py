"""What `cache verify` checks: the database file itself, then each row as polyvox reads it."""

from __future__ import annotations

import sqlite3
from typing import Any

from polyvox.cache import entries, reading
from polyvox.cache.entries import AUDIO, DamagedEntry, ForeignKey


def database_problem(dc: Any) -> str | None:
    """What SQLite finds wrong with the database file, or None.

    Damage past the first page can leave a database that opens and lists no rows at all, so
    reading the rows is no check of the file: SQLite's own quick check reads every page.
    """
    try:
        rows = dc._sql("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc) or type(exc).__name__
    found = [" ".join(str(row[0]).split()) for row in rows]  # one line: it ends up in a message
    return None if found == ["ok"] else "; ".join(found[:3])


def check_row(dc: Any, key: Any) -> str | None:
    """Why the entry under `key` is bad, or None."""
    if isinstance(key, ForeignKey):
        return "its key is not text (written by an older polyvox or another program)"
    try:
        value = dc.get(key, default=reading.MISSING)
        if value is reading.MISSING:
            return "its value file is missing"
        if key.startswith(AUDIO):
            entries.decode_audio(key[len(AUDIO):], value)
        elif key.startswith(entries.FILE_HASH):
            entries.check_file_hash(value)
        elif key.startswith(entries.TAKES):
            entries.check_takes(value)
        elif key == entries.LAST_RENDER:
            entries.check_last_render(value)
        elif key.startswith(entries.LOUDNESS):
            entries.check_loudness(value)
        else:
            return "its key is not one polyvox writes"
    except DamagedEntry as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None
