"""Splitting long text under an engine's max characters. (Placeholder: no splitting.)"""

from __future__ import annotations

from collections.abc import Callable

from .segment import Segment


def chunk_segments(segments: list[Segment], max_chars: Callable[[Segment], int]) -> list[Segment]:
    return list(segments)
