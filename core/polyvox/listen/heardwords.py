"""Word times heard: for a take whose engine gave none, the listener's timed words aligned back
to the words the engine was sent (`polyvox.words.align`: sequence alignment that survives
numbers, abbreviations and misheard words) and settled on the audio's pauses
(`polyvox.words.energy.settled`), labelled ``heard``, in place of the estimate from the
audio's energy alone. The take's cache entry is written again with them (format 3 keeps word
times), so a warm render has them without hearing anything.

Two ways in: a render that verifies already heard every take, and keeps what it heard of the
take it chose (`Verifier`); a render asked for ``word_times="heard"`` hears each take that
needs it (`WordHearing`). See docs/words.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from polyvox.audio import Audio
from polyvox.cache.store import ContentCache
from polyvox.listen.heard import Heard
from polyvox.listen.hearing import Hearing, label
from polyvox.render.planner import Job
from polyvox.words.align import align, spread
from polyvox.words.energy import settled
from polyvox.words.timing import WordTime, script_words

Made = tuple[Job, Audio, bool]


def untimed(audio: Audio) -> bool:
    """Whether `audio`'s words are no better than estimated (no engine's, none heard)."""
    return not any(w.source in ("engine", "heard") for w in audio.words)


def heard_times(text: str, heard: Heard) -> tuple[WordTime, ...]:
    """The words of `text` timed by what the listener heard (none when it heard nothing)."""
    words = script_words(text)
    timed = unfolded([WordTime(w.text, w.start, w.end, "heard") for w in heard.words])
    return align(words, timed) if words and timed else ()


#: A heard word shorter than this (seconds) was given no time of its own.
COLLAPSED_S = 0.02


def unfolded(timed: list[WordTime]) -> list[WordTime]:
    """`timed` where a word heard with (almost) no length shares the time of the word before it
    by `weight`: whisper's word timestamps sometimes give one word the time of two ("the" over
    "the ships", then "ships" with none), which would put the second where the first began."""
    out = list(timed)
    i = 1
    while i < len(out):
        if out[i].end - out[i].start >= COLLAPSED_S:
            i += 1
            continue
        last = i  # the run of collapsed words, shared with the word before it
        while last + 1 < len(out) and out[last + 1].end - out[last + 1].start < COLLAPSED_S:
            last += 1
        first = i - 1
        run = out[first : last + 1]
        out[first : last + 1] = spread([w.word for w in run], run[0].start, max(run[0].end, run[-1].end),
                                       run[0].source)
        i = last + 1
    return out


def with_heard(audio: Audio, text: str, heard: Heard) -> Audio:
    """`audio` with its words heard, where they were not better known and something was heard."""
    if not untimed(audio):
        return audio
    words = heard_times(text, heard)
    return audio.with_words(settled(words, audio.samples, audio.sample_rate)) if words else audio


def keep(cache: ContentCache | None, key: str | None, before: Audio, after: Audio) -> Audio:
    """`after` (the take with its heard words) into the cache in place of `before`."""
    if after is before or cache is None or key is None:
        return after
    return cache.put(key, after, replace=True)


class WordHearing:
    """Hears each take whose engine gave no word times (``word_times="heard"`` without verify)."""

    def __init__(self, hearing: Hearing, listener: str | None, cache: ContentCache | None,
                 warn: Callable[..., None]):
        self.spec, self.model = hearing.resolve(listener)
        self.hearing = hearing
        self.cache = cache
        self.warn = warn

    def run(self, made: Iterator[Made]) -> Iterator[Made]:
        for job, audio, cached in made:
            yield job, self.timed(job, audio), cached

    def timed(self, job: Job, audio: Audio) -> Audio:
        request = job.request
        if request is None or not untimed(audio) or not len(audio):
            return audio
        language = request.language
        if not self.spec.hears(self.model, language):
            self.warn("word-times", f"listener {label(self.spec, self.model)} does not hear {language!r}: those "
                      "segments' word times are estimated from the audio", key=f"word-times-language:{language}")
            return audio
        hint = None if self.spec.multilingual(self.model) else language
        heard = self.hearing.hear_with(self.spec, self.model, audio, hint)
        return keep(self.cache, job.key, audio, with_heard(audio, request.text, heard))


def for_render(renderer: Any, options: Any, made: Iterator[Made]) -> Iterator[Made]:
    """`made` with heard word times where the engine gave none (``word_times="heard"``)."""
    listener = options.verify.listener if options.verify is not None else None
    cache = renderer.cache
    return WordHearing(renderer.hearing, listener, cache, renderer.warn).run(made)


__all__ = ["WordHearing", "for_render", "heard_times", "untimed", "with_heard"]

