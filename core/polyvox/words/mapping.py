"""How a clip's word times become the script's words: the engine's own (one for one, or aligned
when its words differ from the script's), else estimated from the clip's energy.

A clip's times are for the words its engine was sent (`Request.text`: after the lexicon and
normalization); `for_script` maps them onto the words as written through the normalizer's map
(`polyvox.text.normalize.align`), so "$42.50" is timed from the start of "forty-two" to the end
of "cents"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from polyvox.text.normalize.align import align as written_to_spoken
from polyvox.text.segment import as_written as written_text
from polyvox.words.align import align, spread
from polyvox.words.energy import estimate
from polyvox.words.timing import WordTime, script_words


def for_script(text: str, timed: Sequence[WordTime], clip: Any = None, spoken: str | None = None
               ) -> tuple[WordTime, ...]:
    """The words of the script `text`, timed by `timed` (an engine's or a listener's words, in
    the clip's seconds); without any, estimated from `clip`'s energy (an `Audio`). `spoken`: the
    text the engine was sent, when it differs from `text` (normalized, respelled)."""
    text = written_text(text)
    if spoken is not None and script_words(spoken) != script_words(text):
        said = for_script(spoken, timed, clip)
        return as_written(script_words(text), script_words(spoken), said) if said else ()
    words = script_words(text)
    if not words:
        return ()
    if timed:
        if len(timed) == len(words) and all(t.source in ("engine", "estimated") for t in timed):
            # the engine spoke the script's words (normalized text splits the same): one for one
            return tuple(t if t.word == w else attrs.evolve(t, word=w) for w, t in zip(words, timed, strict=True))
        return align(words, timed)
    if clip is None or not len(clip):
        return ()
    return estimate(words, clip.samples, clip.sample_rate)


def as_written(written: Sequence[str], spoken: Sequence[str], said: Sequence[WordTime]) -> tuple[WordTime, ...]:
    """The `written` words timed from `said` (one time per word of `spoken`): each written word
    spans the spoken words it became; written words that became one stretch together share it
    by length; a written word that became nothing sits, without length, where it was."""
    out: list[WordTime] = []
    source = said[0].source
    for i1, i2, j1, j2 in written_to_spoken(" ".join(written), " ".join(spoken)):
        if i2 - i1 == j2 - j1 == 1 and said[j1].word == written[i1]:  # said as written (most words)
            out.append(said[j1])
            continue
        if i2 - i1 == j2 - j1:  # as many words said as written ("Mr. Nguyen" -> "mister Win"): one for one
            out.extend(WordTime(w, t.start, t.end, t.source) for w, t in zip(written[i1:i2], said[j1:j2], strict=True))
            continue
        if j1 < j2:
            start, end = said[j1].start, said[j2 - 1].end
        else:
            start = end = out[-1].end if out else said[0].start
        out.extend(spread(written[i1:i2], start, end, source))
    return tuple(out)


def estimated(text: str, clip: Any) -> tuple[WordTime, ...]:
    """The words of `text` laid over `clip`'s speech (see `polyvox.words.energy`)."""
    words = script_words(text)
    return estimate(words, clip.samples, clip.sample_rate) if words and len(clip) else ()
