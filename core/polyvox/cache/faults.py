"""What the cache makes of the faults of the disk under it: a directory that cannot be written
(read-only, full, locked) told apart from a damaged database, the reason in one line, and a
fresh folder to put a damaged database aside in."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


def new_folder(path: Path) -> Path:
    """Make `path`, or ``path-2``, ``path-3``... when that name is taken; the folder made."""
    made, n = path, 1
    while True:
        try:
            made.mkdir()
            return made
        except FileExistsError:
            n += 1
            made = path.with_name(f"{path.name}-{n}")


def is_unwritable(exc: sqlite3.DatabaseError) -> bool:
    """Errors of a directory that cannot be written, not of a damaged database."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return any(w in text for w in ("readonly", "read-only", "full", "unable to open", "disk i/o", "locked",
                                   "permission"))


def failure_reason(exc: BaseException) -> str:
    """What went wrong, in words a user reads in one line (the errno's meaning where there is one)."""
    if isinstance(exc, OSError):
        name = {errno.ENOSPC: "no space left on the device", errno.EROFS: "read-only file system",
                errno.EACCES: "permission denied", errno.EDQUOT: "disk quota exceeded",
                errno.EEXIST: "it is a file, not a folder", errno.ENOTDIR: "a part of it is a file, not a folder",
                }.get(exc.errno or 0)
        return name or str(exc.strerror or exc)
    return str(exc) or type(exc).__name__
