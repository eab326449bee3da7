"""How a clip's word times become the script's words: the engine's own (one for one, or aligned
when its words differ from the script's), else estimated from the clip's energy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from polyvox.words.align import align
from polyvox.words.energy import estimate
from polyvox.words.timing import WordTime, script_words


def for_script(text: str, timed: Sequence[WordTime], clip: Any = None) -> tuple[WordTime, ...]:
    """The words of the script `text`, timed by `timed` (an engine's or a listener's words, in
    the clip's seconds); without any, estimated from `clip`'s energy (an `Audio`)."""
    words = script_words(text)
    if not words:
        return ()
    if timed:
        if len(timed) == len(words) and all(t.source in ("engine", "estimated") for t in timed):
            # the engine spoke the script's words (normalized text splits the same): one for one
            return tuple(attrs.evolve(t, word=w) for w, t in zip(words, timed, strict=True))
        return align(words, timed)
    if clip is None or not len(clip):
        return ()
    return estimate(words, clip.samples, clip.sample_rate)


def estimated(text: str, clip: Any) -> tuple[WordTime, ...]:
    """The words of `text` laid over `clip`'s speech (see `polyvox.words.energy`)."""
    words = script_words(text)
    return estimate(words, clip.samples, clip.sample_rate) if words and len(clip) else ()
