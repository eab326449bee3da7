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
    ka, kb = [_key(w) for w in a], [_key(w) for w in b]
    if len(a) == len(b):  # "at 5 o'clock" -> "at five o'clock": words changed one for one, none shifted
        changed = [x != y for x, y in zip(ka, kb, strict=True)]
        if not any(p and q for p, q in zip(changed, changed[1:], strict=False)):
            return [(i, i + 1, i, i + 1) for i in range(len(a))]
    head = 0  # words both start with
    while head < min(len(ka), len(kb)) and ka[head] == kb[head]:
        head += 1
    tail = 0  # and end with
    while tail < min(len(ka), len(kb)) - head and ka[-1 - tail] == kb[-1 - tail]:
        tail += 1
    if not set(ka[head : len(ka) - tail]) & set(kb) and not set(kb[head : len(kb) - tail]) & set(ka):
        # one stretch changed ("Line 1234." -> "Line one thousand ... thirty-four."), with no
        # word of it anywhere in the other text: what the matcher would find, without it
        return _spans(head, len(a) - tail, len(b) - tail, len(a))
    matcher = SequenceMatcher(None, ka, kb, autojunk=False)
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


def _spans(head: int, end_a: int, end_b: int, count_a: int) -> list[Span]:
    """Word for word up to `head`, written words `head:end_a` as spoken `head:end_b`, then word
    for word to the end (`count_a` written words)."""
    spans: list[Span] = [(i, i + 1, i, i + 1) for i in range(head)]
    if head < end_a:
        spans.append((head, end_a, head, end_b))
    elif head < end_b and spans:  # spoken words with no written word: they belong to the one before
        first, end, start, _ = spans[-1]
        spans[-1] = (first, end, start, end_b)
    elif head < end_b:
        spans.append((head, head, head, end_b))
    shift = end_b - end_a
    spans.extend((i, i + 1, i + shift, i + shift + 1) for i in range(end_a, count_a))
    return spans
