"""polyvox: a plugin-based text-to-speech engine framework.

The kernel finds engine plugins (entry-point group ``polyvox``), and gives every engine a
content cache, a model manager, a segment scheduler, script markup and subtitles.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .audio import Audio
from .engine import Engine
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
