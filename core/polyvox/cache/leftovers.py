"""Value files that no database row refers to, and how to find them.

diskcache writes a value's file before it inserts the row that names it. A write cut short
(a full disk, a quota, a process killed in between, a database that refused the row) leaves
the file behind with no row: diskcache never reads, counts, evicts or clears it, so it holds
disk space that `cache clear` would not give back. `cache clear` removes them all and
`cache verify` lists them (`--repair` removes them).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: A value file younger than this may belong to a write still waiting for the database lock
#: (diskcache waits up to its 60 s timeout): `verify` leaves it alone.
SETTLED_SECONDS = 120.0


def unreferenced(dc: Any, directory: Path, settled: float = 0.0) -> dict[Path, int]:
    """Value files under `directory` that no row names, last written more than `settled` s
    ago, with their sizes."""
    referenced = {row[0] for row in dc._sql("SELECT filename FROM Cache WHERE filename IS NOT NULL")}
    cutoff = time.time() - settled
    found = {}
    for path in (*directory.glob("??/*.val"), *directory.glob("??/??/*.val")):  # both layouts (`entries`)
        relative = str(path.relative_to(directory))
        if relative in referenced:
            continue
        with contextlib.suppress(OSError):  # gone already (a concurrent clear): nothing to do
            st = path.stat()
            if st.st_mtime <= cutoff:
                found[path] = st.st_size
    return found


def remove(paths: Iterable[Path]) -> int:
    """Remove `paths` (best effort); how many went."""
    removed = 0
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed
