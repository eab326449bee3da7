"""Script text to segments. (Placeholder: one segment per non-empty line; the markup
parser replaces this.)"""

from __future__ import annotations

from collections.abc import Iterable

from .segment import Segment


def parse(text: str, known_languages: Iterable[str] = ()) -> list[Segment]:
    return [Segment(text=line.strip(), line=n) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
