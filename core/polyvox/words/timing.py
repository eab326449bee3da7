"""`WordTime`: one word of the script and when it is spoken."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from polyvox.errors import ParameterError, PolyvoxError

#: Who timed a word: the engine itself (it knows its alignment), a listener that heard the
#: audio (speech recognition aligned back to the script), or an estimate from the audio's energy.
SOURCES = ("engine", "heard", "estimated")
#: A render's `word_times`: "auto" (the engine's, else heard when the render verifies anyway,
#: else estimated) or "heard" (the engine's, else heard: the listener hears each take without).
WORD_TIMES = ("auto", "heard")


def _check_source(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value not in SOURCES:
        raise PolyvoxError(f"word time source {value!r} is unknown: expected one of {', '.join(SOURCES)}")


def check_word_times(value: object) -> str:
    """`word_times=` as one of `WORD_TIMES` (None: auto), or a one-line error."""
    text = "auto" if value is None else str(value).strip().lower()
    if text not in WORD_TIMES:
        raise ParameterError(f"word_times={value!r} is not valid: expected {' or '.join(WORD_TIMES)}")
    return text


def _check_span(instance: WordTime, attribute: attrs.Attribute, value: float) -> None:
    if not instance.start <= value:
        raise PolyvoxError(f"word {instance.word!r} ends at {value!r} s, before its start {instance.start!r} s")


@attrs.frozen
class WordTime:
    """One word and when it is spoken, in seconds (of a clip, or of the output)."""

    word: str
    start: float = attrs.field(converter=float)
    end: float = attrs.field(converter=float, validator=_check_span)
    source: str = attrs.field(default="engine", validator=_check_source)

    def moved(self, offset: float, scale: float = 1.0, lo: float = 0.0, hi: float | None = None) -> WordTime:
        """This word `scale` times as long, `offset` later, kept within [lo, hi]."""
        start, end = offset + self.start * scale, offset + self.end * scale
        start, end = (start if start > lo else lo), (end if end > lo else lo)
        if hi is not None:
            start, end = (start if start < hi else hi), (end if end < hi else hi)
        return _trusted(self.word, float(start), float(end if end > start else start), self.source)

    def to_dict(self, digits: int | None = 4) -> dict[str, Any]:
        """As JSON gives it: seconds rounded to `digits` (None: exact, for the cache)."""
        start, end = (self.start, self.end) if digits is None else (round(self.start, digits), round(self.end, digits))
        return {"word": self.word, "start": start, "end": end, "source": self.source}

    @classmethod
    def from_dict(cls, data: Any) -> WordTime:
        try:
            word, start, end, source = data["word"], data["start"], data["end"], data.get("source", "engine")
            if type(word) is str and type(start) is type(end) is float and start <= end and source in SOURCES:
                return _trusted(word, start, end, source)  # as the cache holds them: checked here, at once
            return cls(str(word), start, end, str(source))
        except (KeyError, TypeError, ValueError) as exc:
            raise PolyvoxError(f"not a word time: {data!r} ({exc})") from None


def _trusted(word: str, start: float, end: float, source: str) -> WordTime:
    """A `WordTime` from values a valid one gave (floats, in order, a known source), without
    its checks (a warm render moves some 30 word times a segment: a third of the cost)."""
    made = object.__new__(WordTime)
    _set(made, "word", word)
    _set(made, "start", start)
    _set(made, "end", end)
    _set(made, "source", source)
    return made


_set = object.__setattr__


def script_words(text: str) -> list[str]:
    """The words of `text` as written: runs of non-space ("$42.50" is one word)."""
    return text.split()


def moved(words: Iterable[WordTime], offset: float, scale: float = 1.0, lo: float = 0.0,
          hi: float | None = None) -> tuple[WordTime, ...]:
    return tuple(w.moved(offset, scale, lo, hi) for w in words)
