"""Word times from the phonemes an engine timed: for an engine whose duration predictor says how
long each phoneme (or phoneme token) lasts, so that it knows when each sound is said but not
which word of the text each sound belongs to (Piper, Kokoro).

The engine's phonemes are for whole sentences, where words join or change ("on the" is one
espeak word, ``ɔnðə``; "$42.50" is five misaki words), so they are not mapped to the text's
words by counting spaces: each word is phonemized on its own and its phonemes found in the
sentence's by sequence alignment (difflib); a word's time runs from its first phoneme found to
its last. A word none of whose phonemes is found (rare: read differently in context) shares the
gap between its neighbours by length.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from difflib import SequenceMatcher

from polyvox.words.align import weight
from polyvox.words.timing import WordTime

#: A timed sound: the phoneme, its start and its end in seconds of the clip.
Sound = tuple[str, float, float]


def word_times(text: str, said: Sequence[Sound], phonemize: Callable[[str], Iterable[str]],
               not_sounds: Collection[str]) -> tuple[WordTime, ...]:
    """Each word of `text` (split at spaces), timed from the phonemes `said` (sounds only, in
    order); `phonemize(word)` gives a word's phonemes (any iterable of phoneme strings); the
    phonemes in `not_sounds` (word breaks, punctuation) are left out of the words'."""
    words = text.split()
    if not words or not said:
        return ()
    owner: list[int] = []  # the word each phoneme of the words, one after another, belongs to
    alone: list[str] = []
    for k, word in enumerate(words):
        for p in phonemize(word):
            if p not in not_sounds:
                alone.append(p)
                owner.append(k)
    spans: list[list[float] | None] = [None] * len(words)
    matcher = SequenceMatcher(None, alone, [p for p, _, _ in said], autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.size):
            k, (_, start, end) = owner[block.a + i], said[block.b + i]
            span = spans[k]
            spans[k] = [start, end] if span is None else [min(span[0], start), max(span[1], end)]
    return filled(words, spans, said[0][1], said[-1][2])


def filled(words: Sequence[str], spans: Sequence[Sequence[float] | None], first: float, last: float
           ) -> tuple[WordTime, ...]:
    """`spans` (a start and end per word, or None) as the engine's word times, kept in order;
    words without one share the gap where they belong (between `first` and `last` at the ends)."""
    out: list[WordTime] = []
    i = 0
    while i < len(words):
        span = spans[i]
        floor = out[-1].end if out else first
        if span is not None:
            start = max(span[0], floor)
            out.append(WordTime(words[i], start, max(start, span[1]), "engine"))
            i += 1
            continue
        j = i
        while j < len(words) and spans[j] is None:
            j += 1
        after = spans[j] if j < len(words) else None
        ceiling = max(floor, after[0] if after is not None else last)
        weights = [weight(w) for w in words[i:j]]
        at = floor
        for k, w in zip(range(i, j), weights, strict=True):
            step = (ceiling - floor) * w / sum(weights)
            out.append(WordTime(words[k], at, at + step, "engine"))
            at += step
        i = j
    return tuple(out)
