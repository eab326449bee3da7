"""A take's verdict: the words heard against the words asked, the language heard against the
language asked (multilingual listeners only), and the audio's own flags. A take passes when it
has no flag.

The words fail when (misheard + 4 × (dropped + added)) / expected words is above `max_wer`: a
listener mishears homophones, an engine skips and repeats words, so one skipped word in a
short sentence fails where one misheard word does not."""

from __future__ import annotations

from typing import Any

import attrs

from polyvox.audio import Audio
from polyvox.errors import ParameterError
from polyvox.listen import audiochecks
from polyvox.listen.heard import Heard
from polyvox.listen.words import compare, word_errors

#: Default: a take whose word error rate is above this is heard as wrong words.
MAX_WER = 0.2
#: Below this probability the language a listener names is not held against a take.
LANGUAGE_CONFIDENCE = 0.5
FLAGS = ("words", "language", "silent", "clipped", "cut-off", "too-short", "too-long")


def check_max_wer(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise ParameterError(f"max_wer={value!r} is not valid: expected a word error rate from 0 to 1")
    return number


@attrs.frozen
class Verdict:
    """What hearing one take found."""

    text: str
    heard: str
    wer: float
    missing: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    extra: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: The alignment of heard against expected words: misheard, dropped, added (and the expected count).
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    words: int = 0
    #: The language asked, and the one heard (None where the listener cannot tell).
    language: str | None = None
    heard_language: str | None = None
    language_probability: float | None = None
    flags: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    duration: float = 0.0
    #: Which listener and model heard it ("whisper:tiny.en").
    listener: str = ""
    #: The words were not compared: the listener's model does not hear this language.
    words_checked: bool = True

    @property
    def passed(self) -> bool:
        return not self.flags

    @property
    def word_errors(self) -> float:
        """The error rate judged: a dropped or added word weighs four misheard ones."""
        return word_errors(self.words, self.substitutions, self.deletions, self.insertions)

    def rejudged(self, max_wer: float) -> Verdict:
        """The same measures judged against another word error rate limit."""
        others = tuple(f for f in self.flags if f != "words")
        words = ("words",) if self.words_checked and self.word_errors > max_wer else ()
        return attrs.evolve(self, flags=words + others)

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["passed"] = self.passed
        out["wer"] = round(self.wer, 4)
        out["duration"] = round(self.duration, 4)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        fields = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def judge(text: str, heard: Heard, audio: Audio, *, language: str | None, max_wer: float = MAX_WER,
          hears_language: bool = True, multilingual: bool = False, listener: str = "") -> Verdict:
    """The verdict on `audio`, a take of `text` in `language`, from what a listener `heard`.

    `hears_language`: whether the listener's model hears `language` at all (else the words are
    not compared); `multilingual`: whether it tells languages apart (else the language heard is
    not compared)."""
    compared = compare(text, heard.text or " ".join(w.text for w in heard.words), language)
    flags: list[str] = []
    weighted = word_errors(len(compared.expected), compared.substitutions, compared.deletions, compared.insertions)
    if hears_language and weighted > max_wer:
        flags.append("words")
    if (multilingual and language and heard.language
            and (heard.language_probability is None or heard.language_probability >= LANGUAGE_CONFIDENCE)
            and heard.language.split("-")[0].lower() != language.split("-")[0].lower()):
        flags.append("language")
    flags += audiochecks.flags(audio, audiochecks.spoken_length(compared.expected))
    return Verdict(text=text, heard=heard.text, wer=compared.wer if hears_language else 0.0,
                   missing=compared.missing if hears_language else (),
                   extra=compared.extra if hears_language else (), substitutions=compared.substitutions,
                   deletions=compared.deletions, insertions=compared.insertions, words=len(compared.expected),
                   language=language,
                   heard_language=heard.language, language_probability=heard.language_probability,
                   flags=tuple(flags), duration=audio.duration, listener=listener, words_checked=hears_language)


def score(verdict: Verdict) -> tuple[bool, float, int]:
    """Sort key of takes, best first: passing, then the lower word error rate, then fewer flags."""
    return (not verdict.passed, verdict.wer, len(verdict.flags))
