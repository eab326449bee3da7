"""docs/benchmarks.md, written in parts: each benchmark owns the text between its markers.

The file is prose (how each figure is taken, what it means, what was noticed) around tables
that the benchmark scripts rewrite: ``<!-- bench-NAME:start -->`` ... ``<!-- bench-NAME:end -->``.
A script replaces only its own parts, so `make bench`, `make bench-ray` and
`make bench-chatterbox` can run on different days (and in different environments: this module
needs nothing but the standard library) without undoing each other's figures or the notes.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable
from pathlib import Path


def machine() -> str:
    """One line naming the machine the figures come from."""
    cpu = platform.machine()
    try:
        names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = names[0].strip() if names else cpu
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def table(rows: Iterable[tuple[str, str, str, str]]) -> str:
    """The what / measured / target / met table every kernel-side benchmark prints."""
    lines = ["| what | measured | target | met |", "|---|---|---|---|"]
    return "\n".join(lines + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows])


def write_section(path: Path, name: str, body: str, heading: str) -> None:
    """Put `body` between `name`'s markers in `path`; a file without them gets them appended
    under `heading` (a new file starts with the title)."""
    start, end = f"<!-- bench-{name}:start -->", f"<!-- bench-{name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = f"{text.rstrip()}\n\n## {heading}\n\n{block}\n"
    path.write_text(text)
