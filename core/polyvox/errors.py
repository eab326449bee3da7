"""One error hierarchy: every failure a user can cause or meet is a `PolyvoxError`.

Messages are one line, name the bad value and say what is allowed, so the CLI can print
them as they are and host apps can show them to their users.
"""

from __future__ import annotations


class PolyvoxError(Exception):
    """Base class of every error polyvox raises on purpose."""


class EmptyTextError(PolyvoxError):
    """There is nothing to speak."""


class UnknownEngineError(PolyvoxError):
    """An engine name that no installed plugin declares."""


class UnsupportedLanguageError(PolyvoxError):
    """A language no installed engine (or not the chosen engine) can speak."""


class UnsupportedScriptError(UnsupportedLanguageError):
    """Text written in a script (Hebrew, Cyrillic, Han...) that the language it would be
    spoken in is not written in: an engine would read it letter by letter, if at all."""


class ParameterError(PolyvoxError):
    """An unknown parameter, or a value of the wrong type or out of range."""


class VoiceError(PolyvoxError):
    """A voice that cannot be used: unreadable reference audio, missing transcript, bad name."""


class ModelError(PolyvoxError):
    """A model that cannot be found or loaded (missing weights, download refused)."""


class PluginError(PolyvoxError):
    """A plugin broke the contract (returned the wrong thing, declared an engine twice)."""


class ScriptError(PolyvoxError):
    """Malformed script markup or subtitles, with line and column where known."""


class SegmentError(PolyvoxError):
    """An engine failed on one segment; everything synthesized before it is cached. An engine
    may raise it with a message alone; the kernel's names the segment (index, character, text)."""

    def __init__(self, message: str, *, index: int | None = None, character: str | None = None,
                 text: str | None = None):
        super().__init__(message)
        self.index = index
        self.character = character
        self.text = text


class Cancelled(PolyvoxError):
    """The host (or Ctrl-C) asked the render to stop; finished segments are cached."""

    def __init__(self, message: str, *, finished: int, total: int):
        super().__init__(message)
        self.finished = finished
        self.total = total
