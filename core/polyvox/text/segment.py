"""`Segment` (a piece of a script) and `Request` (what one synthesis call is asked)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import attrs

from polyvox.errors import ParameterError
from polyvox.voices.voice import Voice, frozen_mapping

#: How a segment joins the one before it: a sentence end, a clause split (crossfade),
#: a word split, or none (first of its line, after a pause).
JOINS = ("none", "sentence", "clause", "word")


#: Terminal escape sequences (colours, cursor moves, window titles) pasted with the text.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")

#: Control characters (category Cc: U+0000-U+001F and U+007F-U+009F, a set Unicode never
#: changes) that are not white space.
_CONTROLS = re.compile("[" + "".join(
    re.escape(chr(c)) for c in range(0xA0) if unicodedata.category(chr(c)) == "Cc" and not chr(c).isspace()) + "]")


#: An SSML ``<phoneme>`` in a segment's text: its phonemes and its written word
#: (`polyvox.text.ssml.phoneme_text` resolves it per engine).
PHONEME = re.compile("\ue002([^\ue003]*)\ue003([^\ue004]*)\ue004")
#: An SSML ``<sub>`` or ``<say-as>``: the words said and the words written (`said`, `as_written`).
SUBSTITUTE = re.compile("\ue005([^\ue006]*)\ue006([^\ue007]*)\ue007")
#: What marks a segment's text as holding either.
MARKS = ("\ue002", "\ue005")


def as_written(text: str) -> str:
    """`text` as its script writes it: a ``<phoneme>``'s word without its phonemes, a
    ``<sub>``'s or ``<say-as>``'s content (for word times, captions and display)."""
    if "\ue005" in text:
        text = SUBSTITUTE.sub(r"\2", text)
    return PHONEME.sub(r"\2", text) if "\ue002" in text else text


def said(text: str) -> str:
    """`text` with each ``<sub>`` and ``<say-as>`` as the words it is said as."""
    return SUBSTITUTE.sub(r"\1", text) if "\ue005" in text else text


def speakable(text: str) -> str:
    """`text` without terminal escape sequences and control characters (NUL, bell...): no
    engine can say them, and an engine that hands text to a C library (Piper's espeak-ng)
    fails on a NUL. Line breaks and tabs stay: they separate lines, sentences and words."""
    if not isinstance(text, str):
        return text  # attrs' validators name the bad type
    if "\x1b" in text:
        text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text)


def _check_pause(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not 0.0 <= value <= 30.0:
        raise ParameterError(f"pause of {value!r} s is out of range: expected 0..30 seconds")


@attrs.frozen
class Segment:
    """One piece of a render: speech by a character in a language, or a pause.

    A pause segment has `pause` > 0 and no text; it never reaches an engine.
    """

    text: str = attrs.field(default="", converter=speakable)
    #: The character speaking; None is the narrator.
    character: str | None = None
    language: str | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_mapping)
    pause: float = attrs.field(default=0.0, converter=float, validator=_check_pause)
    engine: str | None = None
    model: str | None = None
    #: Where it came from in the script (1-based line), for messages.
    line: int | None = None
    join: str = attrs.field(default="none", validator=attrs.validators.in_(JOINS))
    #: A voice name whose audio carries the emotion to speak with (``[Alice:happy_sarah]``);
    #: for engines that take an emotion reference, the others warn once and ignore it.
    emotion: str | None = None
    #: Emotion weights 0..1 by name (``[sad:0.7|calm:0.2]``), for engines that take them.
    emotion_vector: Mapping[str, float] = attrs.field(factory=dict, converter=frozen_mapping)
    #: What the engine is sent when it differs from `text` (the lexicon applied and the text
    #: normalized: "forty-two dollars" for "$42"); `text` stays as written. None: `text`.
    spoken: str | None = None
    #: The column of the tag that set its character and parameters (1-based), for messages.
    column: int | None = None

    @property
    def written(self) -> str:
        """The text as its script writes it (an SSML <sub>'s content, not its alias)."""
        return as_written(self.text)

    @property
    def is_pause(self) -> bool:
        return self.pause > 0 and not self.text


@attrs.frozen
class Request:
    """Everything one synthesis call needs except the loaded model and voice conditioning.

    Plain data only, so an engine can run in another process or on another machine.
    """

    text: str = attrs.field(converter=speakable)
    language: str
    #: The model id (not the loaded object), e.g. ``en_US-joe-medium``.
    model: str
    voice: Voice
    #: Every engine parameter, defaults applied and validated.
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_mapping)
    seed: int = 0
    #: The voice whose emotion to speak with, for engines with `Capabilities.emotion_reference`.
    emotion: Voice | None = None
    #: Emotion weights 0..1 by name, for engines with `Capabilities.emotion_vector`.
    emotion_vector: Mapping[str, float] = attrs.field(factory=dict, converter=frozen_mapping)
