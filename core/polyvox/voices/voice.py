"""`Voice`: who speaks — reference audio and transcript for cloning engines, or one of an
engine's built-in voices (a Piper voice file), plus per-character default parameters."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from polyvox.errors import VoiceError


def frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only copy, so a record's parameters cannot change after it was validated."""
    return MappingProxyType(dict(value or {}))


def _optional_path(value: str | Path | None) -> Path | None:
    return None if value in (None, "") else Path(value)


@attrs.frozen
class Voice:
    """A voice as it crosses the hooks: plain paths and text, no loaded state."""

    name: str = "default"
    #: Reference audio for engines that clone a voice (ChatterBox, F5-TTS).
    audio: Path | None = attrs.field(default=None, converter=_optional_path)
    #: What is said in `audio` (engines that need it refuse a voice without one).
    reference_text: str | None = None
    #: A model this voice speaks with, for engines whose voices are models (a Piper voice
    #: id such as ``en_US-joe-medium`` or the path of a ``.onnx`` file).
    model: str | None = None
    #: The engine `model` belongs to (None: whichever engine renders).
    engine: str | None = None
    #: The language the voice speaks unless a segment says otherwise.
    language: str | None = None
    #: True when `language` comes from the character's alias line: then, as in TTS Audio
    #: Suite, it wins over the language the render was called with (a tag's still wins).
    language_wins: bool = False
    #: Per-character default parameters (a segment's own parameters override them).
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=frozen_mapping)

    def __attrs_post_init__(self) -> None:
        if self.audio is not None and not self.audio.is_file():
            raise VoiceError(f"voice {self.name!r}: reference audio {str(self.audio)!r} is not a readable file")


DEFAULT_VOICE = Voice()
