"""The steps every render shares, script or subtitles: voices, planning, sample rate,
placing audio, statistics. `Kernel` is the public face; subtitle rendering uses these
steps too, without reaching into the kernel."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import attrs

from polyvox.audio import Audio
from polyvox.cache.keys import Fingerprints
from polyvox.cache.store import ContentCache
from polyvox.errors import EmptyTextError, PolyvoxError
from polyvox.events import Emitter, Listener, RenderStarted, Warning
from polyvox.plugin.registry import Plugins
from polyvox.render.assembly import Assembler, JoinConfig
from polyvox.render.models import ModelManager
from polyvox.render.planner import Job, Planner
from polyvox.render.results import RenderStats, SegmentResult
from polyvox.render.scheduler import Scheduler
from polyvox.text import chunking
from polyvox.text import markup as script
from polyvox.text.segment import Segment
from polyvox.voices.casting import Overlay, recast
from polyvox.voices.library import VoiceLibrary, check_jobs
from polyvox.voices.voice import DEFAULT_VOICE, Voice

#: A voices folder, several (later override earlier), a `VoiceLibrary` or any name -> Voice mapping.
Voices = Mapping[str, Voice] | str | Path | Sequence[str | Path] | None


@attrs.define
class Pipeline:
    plugins: Plugins
    fingerprints: Fingerprints
    models: ModelManager
    scheduler: Scheduler
    cache: ContentCache | None
    events: Emitter
    device: str
    seed: int
    sample_rate: int | None
    planner: Planner = attrs.field(init=False)
    #: The render in progress in this context: its warnings, and the keys already warned about.
    _render: ContextVar[tuple[list[str], set[str]] | None] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._render = ContextVar(f"polyvox-render-{id(self)}", default=None)
        self.replan()

    def replan(self) -> None:
        """A fresh planner after the set of plugins changed."""
        self.planner = Planner(self.plugins, self.fingerprints, self.warn)

    # -- one render's scope ---------------------------------------------------------------
    def warn(self, kind: str, message: str, key: str | None = None) -> None:
        """Report a warning to the render in progress and its listeners, once per `key`
        (default: the message) and render."""
        render = self._render.get()
        if render is not None:
            warnings, seen = render
            if (key or message) in seen:
                return
            seen.add(key or message)
            warnings.append(message)
        self.events.emit(Warning(message, kind))

    @contextmanager
    def scope(self, on_event: Listener | None) -> Iterator[list[str]]:
        """One render: `on_event` hears this render's events only, and its warnings are collected."""
        warnings: list[str] = []
        token = self._render.set((warnings, set()))
        try:
            with self.events.scoped(on_event):
                yield warnings
        finally:
            self._render.reset(token)

    # -- voices -----------------------------------------------------------------------------
    def voice_library(self, *folders: str | Path) -> VoiceLibrary:
        ranked = sorted(self.plugins.specs.values(), key=lambda s: (-s.priority, s.name))
        engine_voices = {v: spec.name for spec in reversed(ranked) for v in spec.voices}  # best engine wins

        def find(directory: str) -> list[Voice]:
            return [v for found in self.plugins.hook.find_voices(directory=directory) for v in (found or [])]

        return VoiceLibrary.scan(folders, find_voices=find, engine_voices=engine_voices,
                                 known_languages=self.planner.all_language_codes())

    def voices(self, voices: Voices) -> Mapping[str, Voice] | None:
        """A folder, folders or a mapping, as the name -> Voice mapping a render uses."""
        if voices is not None and not isinstance(voices, Mapping):
            voices = self.voice_library(*([voices] if isinstance(voices, (str, Path)) else voices))
        for message in getattr(voices, "warnings", ()):
            self.warn("voice-library", message)
        return voices

    def narrator(self, voice: str | Voice | None, voices: Mapping[str, Voice] | None) -> Voice:
        """The narrator: a Voice, a character of `voices`, an .onnx or audio file, or an engine voice id."""
        if voice is None or isinstance(voice, Voice):
            return voice or DEFAULT_VOICE
        if voices and voice in voices:
            return voices[voice]
        path = Path(voice)
        if path.suffix.lower() == ".onnx":
            return Voice(name=path.stem, model=str(path))
        if path.is_file():
            return Voice(name=path.stem, audio=path)
        return Voice(name=voice, model=voice)

    # -- planning ---------------------------------------------------------------------------
    def max_chars(self, seg: Segment, engine: str | None) -> int:
        name = seg.engine or engine
        if name is None:
            try:
                name = self.planner.best_engine(self.planner.language(seg.language or "en"))
            except PolyvoxError:
                return 10_000  # the planner will report the real problem
        spec = self.plugins.specs.get(name)
        return spec.max_chars if spec else 10_000

    def segments(self, source: str | Sequence[Segment], engine: str | None) -> list[Segment]:
        """Script text parsed (markup) or segments as given, chunked under each engine's limit."""
        if isinstance(source, str):
            segments = script.parse(source, self.planner.all_language_codes())
        else:
            segments = list(source)
        return chunking.chunk_segments(segments, lambda seg: self.max_chars(seg, engine))

    def plan(self, segments: Sequence[Segment], *, narrator: Voice, voices: Mapping[str, Voice] | None,
             engine: str | None, model: str | None, language: str | None, seed: int | None,
             params: Mapping[str, Any] | None, strict: bool = True) -> list[Job]:
        """Resolve segments into jobs; characters an engine cannot clone get its spare voices."""
        def plan_with(cast: Mapping[str, Voice] | None) -> list[Job]:
            return self.planner.plan(
                segments, device=self.device, engine=engine, model=model, narrator=narrator, voices=cast,
                language=language, params=params, seed=self.seed if seed is None else seed, strict=strict)

        jobs = plan_with(voices)
        extra = recast(jobs, self.plugins.specs, self.warn) if model is None else {}
        if extra:
            jobs = plan_with(Overlay(voices, extra))
        check_jobs(jobs, self.plugins.specs, self.warn)
        return jobs

    def rate(self, jobs: list[Job]) -> int:
        """The output sample rate: the kernel's, else the first speaking engine's."""
        if self.sample_rate:
            return self.sample_rate
        for job in jobs:
            if job.engine:
                return self.plugins.specs[job.engine].sample_rate
        raise EmptyTextError("nothing to speak: the script has no text")

    def started(self, jobs: list[Job]) -> None:
        speech = [j for j in jobs if j.request is not None]
        self.events.emit(RenderStarted(len(jobs), len(speech), sum(len(j.request.text) for j in speech)))

    # -- audio out --------------------------------------------------------------------------
    @staticmethod
    def place(jobs: list[Job], rate: int, join: JoinConfig, speech: Iterator[tuple[Audio, bool]],
              out: list[Audio]) -> Iterator[SegmentResult]:
        """Place every job's audio (pauses included) in order; finished chunks go to `out`."""
        assembler = Assembler(rate, join)
        for job in jobs:
            if job.request is None:
                if job.segment.pause:
                    out.extend(assembler.add_silence(job.segment.pause))
                yield SegmentResult(job.index, job.segment, None, None, None, None, False,
                                    assembler.start, job.segment.pause)
                continue
            clip, cached = next(speech)
            out.extend(assembler.add(clip, job.segment.join))
            yield SegmentResult(job.index, job.segment, job.engine, job.model, job.request.language,
                                job.request.voice.name, cached, assembler.start, clip.duration, job.key)
        out.extend(assembler.finish())

    def assemble(self, jobs: list[Job], rate: int, join: JoinConfig, speech: Iterator[tuple[Audio, bool]],
                 sink: Callable[[Audio], Any]) -> list[SegmentResult]:
        out: list[Audio] = []
        results = []
        for result in self.place(jobs, rate, join, speech, out):
            results.append(result)
            for chunk in out:
                sink(chunk)
            out.clear()
        for chunk in out:
            sink(chunk)
        return results

    def stats(self, results: list[SegmentResult], start: float, loads: int, preps: int,
              audio_seconds: float) -> RenderStats:
        """The render's numbers; the cache remembers its hits and misses for `polyvox cache stats`."""
        speech = [r for r in results if r.engine]
        cached = sum(r.cached for r in speech)
        if self.cache is not None:
            self.cache.record_render(cached, len(speech) - cached)
        return RenderStats(
            segments=len(results), speech_segments=len(speech), synthesized=len(speech) - cached,
            cached=cached, audio_seconds=audio_seconds, wall_seconds=time.perf_counter() - start,
            model_loads=self.models.loads - loads, voice_preparations=self.models.voice_preparations - preps)
