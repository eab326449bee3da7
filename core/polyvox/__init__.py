"""polyvox: a plugin-based text-to-speech engine framework.

The kernel finds engine plugins (entry-point group ``polyvox``), and gives every engine a
content cache, a model manager, a segment scheduler, script markup and subtitles.

Names are imported on first use (PEP 562), so ``import polyvox.cli`` and ``polyvox --help``
load neither numpy nor any engine.

The public API is what ``__all__`` names: the classes and functions below, and these modules
(``from polyvox import events`` or ``from polyvox.events import SegmentFinished``): `errors`,
`events` (what listeners hear), `config` (settings), `names` (the values options take),
`samples` (the demo), `decoding` (audio libsndfile cannot read), `weights` (where model files
live), `cores` (the CPU cores an engine may use now), `installing` (installing and making
plugins) and `serve` (the server). The CLI and the server use nothing else. Two seams are
public for those who extend the kernel: `polyvox.render.execution` (executors: where engine
calls run, docs/executors.md) and `polyvox.testing` (the engine contract kit). Every other
module is the kernel's own and may change.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from polyvox.errors import (
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
from polyvox.plugin.compat import HOOK_API, hook_api_version
from polyvox.plugin.versions import kernel_version

if TYPE_CHECKING:
    from polyvox.audio import Audio
    from polyvox.audiofile import audio_format
    from polyvox.books.book import Book, Chapter, Cover
    from polyvox.books.reading import BOOK_SUFFIXES, read_book
    from polyvox.cache.opening import open_cache
    from polyvox.cache.store import ContentCache
    from polyvox.containers.reading import read_chapters
    from polyvox.events import CancelToken
    from polyvox.kernel import Kernel
    from polyvox.listen.heard import Heard, ListenerSpec, Word
    from polyvox.listen.listener import Listener
    from polyvox.listen.report import VerifyOptions, VerifyReport
    from polyvox.listen.verdict import Verdict
    from polyvox.mastering.acx import check_acx
    from polyvox.mastering.loudness import Loudness, integrated_loudness
    from polyvox.plugin.engine import Engine
    from polyvox.plugin.hookspecs import hookimpl
    from polyvox.plugin.spec import Capabilities, EngineSpec, ParamSpec
    from polyvox.render.orchestrator import RenderStream
    from polyvox.render.output import AudioWriter
    from polyvox.render.results import ChapterMark, RenderResult, RenderStats, SegmentResult
    from polyvox.render.sources import is_subtitles, read_source
    from polyvox.subtitles.srt import Cue, read_srt
    from polyvox.subtitles.timing import CueTiming, TimingConfig
    from polyvox.text.encoding import decode_script, decode_text
    from polyvox.text.joins import JoinConfig
    from polyvox.text.segment import Request, Segment
    from polyvox.voices.blending import parse_blend, resolve_voice
    from polyvox.voices.casting import voice_language
    from polyvox.voices.library import VoiceLibrary
    from polyvox.voices.voice import Voice
    from polyvox.weights.sources import Files, HubFiles, LocalFiles, ModelWeights, UrlFile

_LAZY = {
    "Audio": "audio", "CancelToken": "events", "Kernel": "kernel",
    "Engine": "plugin.engine", "hookimpl": "plugin.hookspecs",
    "Capabilities": "plugin.spec", "EngineSpec": "plugin.spec", "ParamSpec": "plugin.spec",
    "RenderResult": "render.results", "RenderStats": "render.results", "SegmentResult": "render.results",
    "Request": "text.segment", "Segment": "text.segment", "speakable": "text.segment",
    "sentences": "text.chunking", "says_nothing": "text.speech",
    "Voice": "voices.voice", "VoiceLibrary": "voices.library", "voice_language": "voices.casting",
    "ContentCache": "cache.store", "open_cache": "cache.opening",
    "decode_text": "text.encoding", "decode_script": "text.encoding",
    "parse_blend": "voices.blending",
    "resolve_voice": "voices.blending",
    "Cue": "subtitles.srt", "read_srt": "subtitles.srt", "CueTiming": "subtitles.timing",
    "TimingConfig": "subtitles.timing", "JoinConfig": "text.joins",
    "AudioWriter": "render.output", "RenderStream": "render.orchestrator",
    "is_subtitles": "render.sources", "read_source": "render.sources",
    "is_ssml": "text.ssml",
    "Book": "books.book", "Chapter": "books.book", "Cover": "books.book", "read_book": "books.reading",
    "ChapterMark": "render.results", "read_chapters": "containers.reading", "Loudness": "mastering.loudness",
    "integrated_loudness": "mastering.loudness", "check_acx": "mastering.acx", "audio_format": "audiofile",
    "BOOK_SUFFIXES": "books.reading",
    "Files": "weights.sources", "HubFiles": "weights.sources", "LocalFiles": "weights.sources",
    "ModelWeights": "weights.sources", "UrlFile": "weights.sources", "WordTime": "words.timing",
    "Heard": "listen.heard", "ListenerSpec": "listen.heard", "Word": "listen.heard", "Listener": "listen.listener",
    "VerifyOptions": "listen.report", "VerifyReport": "listen.report", "Verdict": "listen.verdict",
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


__version__ = kernel_version()

__all__ = [
    "Audio", "audio_format", "AudioWriter", "Book", "BOOK_SUFFIXES", "Cancelled", "Chapter", "ChapterMark",
    "check_acx", "Cover", "CancelToken", "Capabilities", "ContentCache", "open_cache", "Cue", "CueTiming",
    "decode_script", "decode_text", "EmptyTextError", "Engine", "EngineSpec", "Files", "Heard", "HOOK_API",
    "hook_api_version", "hookimpl", "HubFiles", "is_ssml", "is_subtitles", "JoinConfig", "Kernel", "Listener",
    "integrated_loudness", "ListenerSpec", "LocalFiles", "Loudness", "ModelError", "ModelWeights", "ParameterError",
    "ParamSpec", "parse_blend", "PluginError", "PolyvoxError", "read_book", "read_chapters", "read_source",
    "read_srt", "RenderResult", "RenderStats", "RenderStream", "Request", "resolve_voice", "ScriptError", "Segment",
    "SegmentError", "SegmentResult", "sentences", "says_nothing", "speakable", "TimingConfig", "UnknownEngineError",
    "UnsupportedLanguageError", "UrlFile", "Verdict", "VerifyOptions", "VerifyReport", "Voice", "voice_language",
    "VoiceError", "VoiceLibrary", "Word", "WordTime",
    # modules, imported on first use like the names
    "config", "cores", "decoding", "errors", "events", "installing", "names", "samples", "serve", "weights", "words",
]
