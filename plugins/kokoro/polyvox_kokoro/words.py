"""Kokoro's word times from its own predicted durations (`durations`): each token of a piece
lasts its frames of 600 samples, laid end to end from the piece's start (the first frames are
the leading pad's) and heard `LEAD` frames early; a piece trimmed of its silence moves back by
what was cut. The tokens are misaki phonemes, one character each, so the timed sounds are found back in each word's own
phonemes by sequence alignment (`polyvox.words.sounds`): "$42.50" is one word of the text and
five of the phonemes, and a word read differently in context still finds most of its sounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache

import numpy as np

from polyvox.words.sounds import Sound, word_times
from polyvox.words.timing import WordTime
from polyvox_kokoro import phonemes
from polyvox_kokoro.durations import FRAME

#: Frames by which a token's sound comes before its frames: the decoder's convolutions spread
#: each sound's energy into the frames before it. Measured on the int8 model's five voices, words
#: said after a pause rise out of the silence a median of 60 ms (0 to 130) before their first
#: token's frames; upstream kokoro's pipeline takes 3 frames off the leading pad for the same.
LEAD = 2
#: Tokens that are no sound of a word: the word break, punctuation, Japanese intonation marks.
NOT_SOUNDS = frozenset(' !"(),.:;?—“”…→↓↗↘')


@cache
def _names() -> dict[int, str]:
    return {i: c for c, i in phonemes.vocab().items()}


def sounds(ids: Sequence[int], frames: np.ndarray, shift: int, kept: tuple[int, int], rate: int
           ) -> list[Sound] | None:
    """The tokens of one piece (`ids`) that are sounds, with their start and end in seconds of the
    take; `frames` are the model's durations of ``[pad, *ids, pad]``, `shift` the sample of the
    take where the model's audio of the piece would start (before its trim), `kept` the take's
    samples this piece's audio covers. None when the frames do not fit the ids."""
    frames = np.asarray(frames, dtype=np.int64).reshape(-1)
    if len(frames) != len(ids) + 2:
        return None
    edges = (np.cumsum(frames) - LEAD) * FRAME + shift  # where each of [pad, *ids, pad] ends
    lo, hi = kept
    names = _names()
    out: list[Sound] = []
    for k, token in enumerate(ids, start=1):
        name = names.get(token, " ")
        if name in NOT_SOUNDS:
            continue
        start, end = min(max(int(edges[k - 1]), lo), hi), min(max(int(edges[k]), lo), hi)
        out.append((name, start / rate, end / rate))
    return out


def words(text: str, said: Sequence[Sound], phonemize: Callable[[str], Iterable[str]]) -> tuple[WordTime, ...]:
    """The words of `text` (split at spaces) timed from the sounds `said`; `phonemize(word)`
    gives one word's phonemes."""
    written = text.split()
    if not said or not written:
        return ()
    if len(written) == 1:  # one word (Japanese without spaces, say): all of the sounds
        return (WordTime(written[0], said[0][1], said[-1][2], "engine"),)
    return word_times(text, said, phonemize, NOT_SOUNDS)
