"""Aligning timed words (heard by a listener, or an engine's own tokens) to the script's words.

Sequence alignment (difflib, junk heuristics off) on folded words: words that match take their
times; a run of script words against a run of different words ("$42.50" against "forty two
dollars fifty", or a misheard word) shares that run's time span in proportion to how long each
script word is to say; script words nothing was heard for get the gap where they belong.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence

import attrs

from polyvox.words.timing import WordTime

_FOLD = re.compile(r"[\W_]+")


def fold(word: str) -> str:
    """A word compared without case, accents or punctuation."""
    text = unicodedata.normalize("NFKD", word.casefold())
    return _FOLD.sub("", "".join(c for c in text if not unicodedata.combining(c)))


def weight(word: str) -> float:
    """Roughly how long `word` takes to say: its letters, and digits said as several syllables."""
    if word.isalpha():  # most words: no digit, every character a letter
        return max(1.0, float(len(word)))
    return max(1.0, sum(map(str.isalpha, word)) + 4.0 * sum(map(str.isdigit, word)))


def align(script: Sequence[str], timed: Sequence[WordTime]) -> tuple[WordTime, ...]:
    """Each word of `script`, timed from `timed` (in order), labelled with `timed`'s source."""
    if not script:
        return ()
    if not timed:
        raise ValueError("nothing to align the script's words to")
    source = timed[0].source
    a, b = [fold(w) for w in script], [fold(t.word) for t in timed]
    out: list[WordTime | None] = [None] * len(script)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                out[i1 + k] = attrs.evolve(timed[j1 + k], word=script[i1 + k])
        elif op == "replace":
            _share(script, out, i1, i2, timed[j1].start, timed[j2 - 1].end, source)
    _fill_gaps(script, out, timed, source)
    return tuple(w for w in out if w is not None)


def _share(script: Sequence[str], out: list[WordTime | None], i1: int, i2: int, start: float, end: float,
           source: str) -> None:
    """Script words i1..i2 share [start, end] in proportion to their `weight`."""
    out[i1:i2] = spread(script[i1:i2], start, end, source)


def spread(words: Sequence[str], start: float, end: float, source: str) -> list[WordTime]:
    """`words` one after another over [start, end], each as long as its share of their `weight`."""
    weights = [weight(w) for w in words]
    total, at, out = sum(weights), start, []
    for word, w in zip(words, weights, strict=True):
        step = (end - start) * w / total
        out.append(WordTime(word, at, at + step, source))
        at += step
    return out


def _fill_gaps(script: Sequence[str], out: list[WordTime | None], timed: Sequence[WordTime], source: str) -> None:
    """Script words with no time (nothing heard for them) share the gap between their neighbours."""
    i = 0
    while i < len(out):
        if out[i] is not None:
            i += 1
            continue
        j = i
        while j < len(out) and out[j] is None:
            j += 1
        before = out[i - 1].end if i else timed[0].start
        after = out[j].start if j < len(out) else timed[-1].end
        _share(script, out, i, j, before, max(before, after), source)
        i = j
