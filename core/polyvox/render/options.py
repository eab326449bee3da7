"""What a caller can ask of one render besides its source: `RenderOptions`, validated on
construction (a bad value is a one-line error before anything is planned)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from polyvox.errors import ParameterError
from polyvox.events import CancelToken
from polyvox.listen.report import VerifyOptions, verify_options
from polyvox.mastering.loudness import Loudness
from polyvox.render.assembly import JoinConfig
from polyvox.render.speaking import check_mode
from polyvox.subtitles.timing import TimingConfig
from polyvox.voices.casting import check_cast
from polyvox.voices.voice import Voice
from polyvox.words.timing import check_word_times


def _at_least_one(instance: Any, attribute: attrs.Attribute, value: int | None) -> None:
    if value is None and attribute.name == "batch_size":  # not set: each engine's declared size
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ParameterError(f"{attribute.name}={value!r} is not valid: expected 1 or more")


def _of(*kinds: type, what: str) -> Any:
    """A validator: the value is None or one of `kinds` (a one-line error naming it otherwise)."""

    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            raise ParameterError(f"{attribute.name}={value!r} is not valid: expected {what}")

    return check


def _flag(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """True or False: "no" is a true value to Python, so strict="no" turned strictness on."""
    if not isinstance(value, bool):
        raise ParameterError(f"{attribute.name}={value!r} is not valid: expected True or False")


@attrs.frozen
class RenderOptions:
    """Everything a caller can ask of one render besides its source."""

    engine: str | None = attrs.field(default=None, validator=_of(str, what="an engine's name"))
    model: str | None = attrs.field(default=None, validator=_of(str, what="a model's name"))
    voice: str | Voice | None = attrs.field(default=None, validator=_of(str, Voice, what="a voice's name or a Voice"))
    voices: Any = None
    language: str | None = attrs.field(default=None, validator=_of(str, what="a language tag such as 'en' or 'de'"))
    seed: int | None = None  # checked by the planner (a numeric string works; its range is said)
    params: Mapping[str, Any] | None = attrs.field(default=None, validator=_of(Mapping, what="a mapping of name to "
                                                                                           "value"))
    use_cache: bool = attrs.field(default=True, validator=_flag)
    workers: int = attrs.field(default=1, validator=_at_least_one)
    #: Segments per call for engines that batch; None: each engine's declared size for the
    #: device (`Capabilities.batch_sizes`), else 1.
    batch_size: int | None = attrs.field(default=None, validator=_at_least_one)
    #: How chunks of one long text join; None: each engine's declared join, else the default.
    join: JoinConfig | None = attrs.field(default=None, validator=_of(JoinConfig, what="a polyvox.JoinConfig"))
    #: Subtitles only: how clips fit their cues (None: the default `TimingConfig`).
    timing: TimingConfig | None = attrs.field(default=None, validator=_of(TimingConfig, what="a TimingConfig"))
    cancel: CancelToken | None = attrs.field(default=None, validator=_of(CancelToken, what="a polyvox.CancelToken"))
    #: Markup problems (an unknown tag, a bad parameter value, an over-long pause) are errors
    #: instead of warnings (TTS Audio Suite is lenient; so is the default); with `verify`, a
    #: segment that still fails after its retakes is an error too.
    strict: bool = attrs.field(default=False, validator=_flag)
    #: Characters the voices do not name: "narrator" (its voice, one warning each) or "auto" (a
    #: distinct installed voice each, stable across runs; see `polyvox.voices.casting`).
    cast: str = attrs.field(default="narrator", converter=check_cast)
    #: Numbers, dates... in words: None for engines that do not (`Capabilities.normalizes`); True, False.
    normalize: bool | None = attrs.field(default=None, converter=check_mode)
    #: Hear every take and retake the failures (`polyvox.listen.verify`).
    verify: VerifyOptions | None = attrs.field(default=None, converter=verify_options)
    #: Every take brought to this loudness under a true-peak ceiling at assembly (`polyvox.mastering`).
    loudness: Loudness | None = None
    #: Where word times come from when the engine gives none: "auto" (heard when `verify` heard
    #: the take anyway, else estimated from the audio) or "heard" (the listener hears each such take).
    word_times: str = attrs.field(default="auto", converter=check_word_times)
