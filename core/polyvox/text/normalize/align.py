"""Which written words became which spoken words, for word times (`Segment.text` is as
written, `Segment.spoken` what the engine said): words both share anchor the alignment, and
each stretch between anchors maps as a whole ("$42.50" -> "forty-two dollars and fifty cents")."""

from __future__ import annotations

from difflib import SequenceMatcher

#: (first written word, end written word, first spoken word, end spoken word): indexes into
#: ``text.split()`` of each, ends exclusive.
Span = tuple[int, int, int, int]


def _key(word: str) -> str:
    return word.strip(".,;:!?\"'()[]«»“”‘’").lower()


def align(written: str, spoken: str) -> list[Span]:
    """Every written word's stretch of spoken words, in order, covering both texts."""
    a, b = written.split(), spoken.split()
    matcher = SequenceMatcher(None, [_key(w) for w in a], [_key(w) for w in b], autojunk=False)
    spans: list[Span] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            spans.extend((i, i + 1, j1 + (i - i1), j1 + (i - i1) + 1) for i in range(i1, i2))
        elif spans and i1 == i2:  # spoken words with no written word: they belong to the one before
            first, end, start, _ = spans[-1]
            spans[-1] = (first, end, start, j2)
        else:
            spans.append((i1, i2, j1, j2))
    return spans
