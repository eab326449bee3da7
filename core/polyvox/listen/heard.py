"""What a listener declares (`ListenerSpec`) and what it hears (`Heard`: timed `Word`s, the text,
the language where it can tell). Plain attrs records, validated on construction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from polyvox.errors import PluginError


def _word_times(instance: Word, attribute: attrs.Attribute, value: float) -> None:
    if value < 0:
        raise PluginError(f"word {instance.text!r}: {attribute.name}={value!r} is before the audio starts")


@attrs.frozen
class Word:
    """One heard word: its text as the listener wrote it, where it is (seconds into the audio
    heard) and how sure the listener is (0..1, None when it cannot tell)."""

    text: str
    start: float = attrs.field(converter=float, validator=_word_times)
    end: float = attrs.field(converter=float, validator=_word_times)
    probability: float | None = None

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise PluginError(f"word {self.text!r} ends ({self.end}) before it starts ({self.start})")


@attrs.frozen
class Heard:
    """What a listener heard in one piece of audio."""

    words: tuple[Word, ...] = attrs.field(converter=tuple)
    #: The whole transcript (the words joined, as the listener punctuated them).
    text: str = ""
    #: The language heard (a code such as ``en``), None when the listener cannot tell.
    language: str | None = None
    language_probability: float | None = None

    def __attrs_post_init__(self) -> None:
        for word in self.words:
            if not isinstance(word, Word):
                raise PluginError(f"Heard.words holds Word records, not {type(word).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _models(value: Mapping[str, Any] | Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), tuple(languages)) for name, languages in items)


@attrs.frozen
class ListenerSpec:
    """A listener: its name, the rate it hears at, and its models with the languages each hears.

    ``models={"tiny.en": ("en",), "small": ("*",)}``: ``*`` hears any language and tells which
    (a multilingual model: the kernel then checks the language heard against the one asked).
    """

    name: str = attrs.field(validator=attrs.validators.matches_re(r"[a-z][a-z0-9_-]*"))
    sample_rate: int
    default_model: str
    models: tuple[tuple[str, tuple[str, ...]], ...] = attrs.field(converter=_models)
    description: str = ""
    #: Chosen first when several listeners are installed.
    priority: int = 0
    #: Whether one loaded model may hear from several threads at once.
    thread_safe: bool = False

    def __attrs_post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise PluginError(f"listener {self.name!r}: sample_rate must be positive, got {self.sample_rate}")
        if self.default_model not in dict(self.models):
            raise PluginError(f"listener {self.name!r}: default_model {self.default_model!r} is not one of "
                              f"its models ({', '.join(dict(self.models)) or 'none'})")

    def languages(self, model: str) -> tuple[str, ...]:
        return dict(self.models).get(model, ())

    def multilingual(self, model: str) -> bool:
        """Whether `model` hears any language and says which."""
        return "*" in self.languages(model) or len(self.languages(model)) > 1

    def hears(self, model: str, language: str) -> bool:
        """Whether `model` can hear `language` (``de-at`` counts as ``de``; a model the listener
        did not declare, such as a folder the user named, is taken at its word)."""
        langs = self.languages(model)
        return not langs or "*" in langs or language in langs or language.split("-")[0] in langs
