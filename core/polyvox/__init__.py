"""polyvox: a plugin-based text-to-speech engine framework.

The kernel finds engine plugins (entry-point group ``polyvox``), and gives every engine a
content cache, a model manager, a segment scheduler, script markup and subtitles.

Names are imported on first use (PEP 562), so ``import polyvox.cli`` and ``polyvox --help``
load neither numpy nor any engine.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .errors import (
    Cancelled,
    EmptyTextError,
    ModelError,
    ParameterError,
    PluginError,
    PolyvoxError,
    ScriptError,
    SegmentError,
    UnknownEngineError,
    UnsupportedLanguageError,
    VoiceError,
)

if TYPE_CHECKING:
    from .audio import Audio
    from .engine import Engine
    from .events import CancelToken
    from .hookspecs import hookimpl
    from .kernel import Kernel
    from .results import RenderResult, RenderStats, SegmentResult
    from .segment import Request, Segment
    from .spec import Capabilities, EngineSpec, ParamSpec
    from .subtitles import Cue, read_srt
    from .timing import CueTiming, TimingConfig
    from .voice import Voice
    from .voices import VoiceLibrary

_LAZY = {
    "Audio": "audio", "Engine": "engine", "CancelToken": "events", "hookimpl": "hookspecs", "Kernel": "kernel",
    "RenderResult": "results", "RenderStats": "results", "SegmentResult": "results", "Request": "segment",
    "Segment": "segment", "Capabilities": "spec", "EngineSpec": "spec", "ParamSpec": "spec", "Voice": "voice",
    "Cue": "subtitles", "read_srt": "subtitles", "CueTiming": "timing", "TimingConfig": "timing",
    "VoiceLibrary": "voices",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:  # a submodule such as polyvox.events, imported on first use like the names
        try:
            return import_module(f".{name}", __name__)
        except ModuleNotFoundError:
            raise AttributeError(f"module 'polyvox' has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


try:
    __version__ = version("polyvox")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "Audio", "Cancelled", "CancelToken", "Capabilities", "Cue", "CueTiming", "EmptyTextError", "Engine",
    "EngineSpec", "Kernel", "ModelError", "ParamSpec", "ParameterError", "PluginError", "PolyvoxError",
    "RenderResult", "RenderStats", "Request", "ScriptError", "Segment", "SegmentError", "SegmentResult",
    "TimingConfig", "UnknownEngineError", "UnsupportedLanguageError", "Voice", "VoiceError", "VoiceLibrary",
    "hookimpl", "read_srt",
]
