"""`Kernel`: the Python API that the CLI and host apps use.

    kernel = polyvox.Kernel()
    audio = kernel.synthesize("Hello there")          # -> Audio
    result = kernel.render(script_text, voices=...)    # -> RenderResult
    for chunk in kernel.stream(script_text): ...       # Audio chunks in script order
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from polyvox.audio import Audio
from polyvox.cache.keys import Fingerprints
from polyvox.cache.store import DEFAULT_SIZE_LIMIT, CacheStats, ContentCache
from polyvox.errors import EmptyTextError, PolyvoxError
from polyvox.events import CancelToken, Emitter, Listener
from polyvox.plugin.registry import PluginFailure, PluginInfo, Plugins
from polyvox.plugin.spec import EngineSpec
from polyvox.render.assembly import JoinConfig
from polyvox.render.models import ModelManager
from polyvox.render.pipeline import Pipeline, Voices
from polyvox.render.planner import DEFAULT_SEED, Job, Planner
from polyvox.render.results import RenderResult, SegmentResult
from polyvox.render.scheduler import Scheduler
from polyvox.subtitles.render import read_source, render_subtitles, subtitle_cues
from polyvox.subtitles.srt import Cue
from polyvox.subtitles.timing import TimingConfig
from polyvox.text import languages
from polyvox.text.segment import Segment
from polyvox.voices.library import VoiceLibrary
from polyvox.voices.voice import Voice
from polyvox.weights.service import Weights

#: Script text, a script or .srt file (`Path`), segments, subtitle cues, or SRT text.
Source = str | Path | Sequence[Segment] | Sequence[Cue]


def sf_duration(path: Path) -> float:
    import soundfile as sf

    return float(sf.info(str(path)).duration)


class Kernel:
    """Plugins, cache, model manager and scheduler, wired together once per process or app."""

    def __init__(
        self,
        *,
        cache_dir: str | Path | None = None,
        cache: bool = True,
        cache_size_limit: int = DEFAULT_SIZE_LIMIT,
        device: str | None = None,
        plugins: Iterable[str] | None = None,
        load_entry_points: bool = True,
        seed: int = DEFAULT_SEED,
        max_models: int | None = None,
        memory_budget: int | None = None,
        sample_rate: int | None = None,
        on_event: Listener | None = None,
        downloads: str | None = None,
    ):
        self.device = device or os.environ.get("POLYVOX_DEVICE") or "auto"
        self.seed = seed
        self.events = Emitter()
        if on_event is not None:
            self.events.subscribe(on_event)
        self.plugins = Plugins(plugins, load_entry_points=load_entry_points)
        self.cache = ContentCache(cache_dir, cache_size_limit) if cache else None
        self.fingerprints = Fingerprints(self.cache.store if self.cache else None)
        self.weights = Weights(self.plugins.hook, self.events.emit, downloads)  # "ask" | "yes" | "never"
        self.models = ModelManager(self.plugins.hook, self.events.emit, max_models, memory_budget, self.weights)
        self.scheduler = Scheduler(self.plugins, self.models, self.cache, self.events.emit)
        self.pipeline = Pipeline(self.plugins, self.fingerprints, self.models, self.scheduler, self.cache,
                                 self.events, self.device, seed, sample_rate)

    @property
    def planner(self) -> Planner:
        return self.pipeline.planner

    # -- plugins and engines --------------------------------------------------------------
    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register a plugin object directly (host apps, tests)."""
        registered = self.plugins.register(plugin, name=name)
        self.plugins.refresh()
        self.pipeline.replan()
        return registered

    def engines(self) -> list[EngineSpec]:
        return sorted(self.plugins.specs.values(), key=lambda s: (-s.priority, s.name))

    def engine(self, name: str) -> EngineSpec:
        return self.planner.spec(name)

    def plugin_info(self) -> list[PluginInfo]:
        return self.plugins.info()

    @property
    def failures(self) -> list[PluginFailure]:
        return list(self.plugins.failures)

    def models_for(self, engine: str) -> dict[str, str]:
        """Language -> model for every language the engine (or a language pack) serves."""
        spec = self.engine(engine)
        out = {}
        # Declared codes, and every code polyvox knows: a language pack may add any of them.
        codes = set(spec.languages) | self.planner.all_language_codes() | set(languages.known_codes())
        for code in sorted(codes):
            model = self.planner.model_for(engine, code)
            if model:
                out[code] = model
        return out

    def subscribe(self, listener: Listener) -> Any:
        """Call `listener(event)` for every event; returns a function that unsubscribes."""
        return self.events.subscribe(listener)

    # -- synthesis ------------------------------------------------------------------------
    def synthesize(self, text: str, engine: str | None = None, voice: str | Voice | None = None,
                   language: str | None = None, model: str | None = None, seed: int | None = None,
                   use_cache: bool = True, **params: Any) -> Audio:
        """One text to one `Audio`, through the same cache and models as everything else."""
        result = self.render([Segment(text=text)], engine=engine, voice=voice, language=language,
                             model=model, seed=seed, params=params, use_cache=use_cache)
        assert result.audio is not None
        return result.audio

    def plan(self, source: Source, *, engine: str | None = None, model: str | None = None,
             voice: str | Voice | None = None, voices: Voices = None,
             language: str | None = None, seed: int | None = None,
             params: Mapping[str, Any] | None = None, strict: bool = True) -> list[Job]:
        """Resolve a script into jobs without synthesizing anything."""
        segments = self._segments(source, engine)
        if not any(s.text.strip() for s in segments):
            raise EmptyTextError("nothing to speak: the text is empty")
        library = self.pipeline.voices(voices)
        return self.pipeline.plan(segments, narrator=self.pipeline.narrator(voice, library), voices=library,
                                  engine=engine, model=model, language=language, seed=seed, params=params,
                                  strict=strict)

    def render(self, source: Source, *, engine: str | None = None, model: str | None = None,
               voice: str | Voice | None = None, voices: Voices = None,
               language: str | None = None, seed: int | None = None, params: Mapping[str, Any] | None = None,
               use_cache: bool = True, workers: int = 1, batch_size: int = 1, join: JoinConfig = JoinConfig(),
               cancel: CancelToken | None = None, on_event: Listener | None = None,
               output: str | Path | None = None, timing_mode: str | None = None,
               timing: TimingConfig | None = None) -> RenderResult:
        """Render a whole script or subtitle file. With `output`, audio goes to that file
        (as it is made, for scripts) and `result.audio` is None.

        Subtitles (cues, an .srt `Path`, SRT text) are fitted to their cue times by
        `timing_mode` (or `timing`, a `TimingConfig`); `result.timing` holds the per-cue
        report and `result.srt` the adjusted subtitles.
        """
        source = read_source(source)
        skipped: list[str] = []
        cues = subtitle_cues(source, skipped)
        if cues is None and (timing_mode or timing):
            raise PolyvoxError("timing_mode applies to subtitles only: give an .srt file or SRT text")
        with self.pipeline.scope(on_event) as warnings:
            for block in skipped:
                excerpt = block if len(block) <= 60 else block[:57] + "..."
                self.pipeline.warn("subtitles", f"skipped a block that is not a subtitle cue (its words are not "
                                                f"spoken): {excerpt!r}")
            if cues is not None:
                config = timing or TimingConfig()
                if timing_mode:
                    config = attrs.evolve(config, mode=timing_mode)
                return render_subtitles(
                    self.pipeline, cues, warnings, engine=engine, model=model, voice=voice, voices=voices,
                    language=language, seed=seed, params=params, use_cache=use_cache, workers=workers,
                    batch_size=batch_size, join=join, timing=config, cancel=cancel, output=output)
            start = time.perf_counter()
            loads, preps = self.models.loads, self.models.voice_preparations
            jobs = self.plan(source, engine=engine, model=model, voice=voice, voices=voices,
                             language=language, seed=seed, params=params)
            rate = self.pipeline.rate(jobs)
            self.pipeline.started(jobs)
            if output is not None:
                speech = self._speech(jobs, flat=True, use_cache=use_cache, workers=workers,
                                      batch_size=batch_size, cancel=cancel)
                results = self._write(jobs, rate, Path(output), join, speech)
                audio = None
            else:
                speech = self._speech(jobs, flat=False, use_cache=use_cache, workers=workers,
                                      batch_size=batch_size, cancel=cancel)
                chunks: list[Audio] = []
                results = self.pipeline.assemble(jobs, rate, join, speech, chunks.append)
                audio = Audio.concatenate(chunks, rate)
            seconds = audio.duration if audio is not None else sf_duration(Path(output))
            stats = self.pipeline.stats(results, start, loads, preps, seconds)
            return RenderResult(audio, tuple(results), stats, tuple(warnings),
                                Path(output) if output is not None else None)

    def stream(self, source: Source, *, engine: str | None = None, model: str | None = None,
               voice: str | Voice | None = None, voices: Voices = None,
               language: str | None = None, seed: int | None = None, params: Mapping[str, Any] | None = None,
               use_cache: bool = True, join: JoinConfig = JoinConfig(), cancel: CancelToken | None = None,
               on_event: Listener | None = None) -> Iterator[Audio]:
        """Yield audio chunks in script order as soon as each is ready (first segments first)."""
        with self.pipeline.scope(on_event):
            jobs = self.plan(source, engine=engine, model=model, voice=voice, voices=voices,
                             language=language, seed=seed, params=params)
            rate = self.pipeline.rate(jobs)
            self.pipeline.started(jobs)
            pairs = ((clip, cached) for _, clip, cached in
                     self.scheduler.run(jobs, ordered=True, use_cache=use_cache, cancel=cancel))
            out: list[Audio] = []
            for _ in self.pipeline.place(jobs, rate, join, pairs, out):
                yield from out
                out.clear()
            yield from out

    # -- cache and models -----------------------------------------------------------------
    def cache_stats(self) -> CacheStats | None:
        return self.cache.stats() if self.cache else None

    def clear_cache(self) -> int:
        return self.cache.clear() if self.cache else 0

    def unload(self, engine: str, model: str, device: str | None = None) -> bool:
        return self.models.unload(engine, model, device or self.device)

    def unload_all(self) -> int:
        return self.models.unload_all()

    def voice_library(self, *folders: str | Path) -> VoiceLibrary:
        """The voices in `folders` (later override earlier), with every engine's model voices
        (`find_voices` hook) and built-in voices available to alias lines."""
        return self.pipeline.voice_library(*folders)

    # -- internals ------------------------------------------------------------------------
    def _segments(self, source: Source, engine: str | None) -> list[Segment]:
        source = read_source(source)
        cues = subtitle_cues(source)
        if cues is not None:  # planning or streaming subtitles: their text, in order
            source = "\n".join(cue.text for cue in cues)
        return self.pipeline.segments(source, engine)

    def _speech(self, jobs: list[Job], *, flat: bool, use_cache: bool, workers: int, batch_size: int,
                cancel: CancelToken | None) -> Iterator[tuple[Audio, bool]]:
        """Each speech job's (audio, from_cache), in script order.

        `flat`: hand each over as soon as it is ready (memory stays flat), where that costs
        nothing — one model, no threads, no batches. Otherwise misses run grouped by model
        (each loads once), in threads or batches as asked, and are put back in order here.
        """
        models = {j.model_key for j in jobs if j.request is not None}
        if flat and workers == 1 and batch_size == 1 and len(models) <= 1:
            for _, clip, cached in self.scheduler.run(jobs, ordered=True, use_cache=use_cache, cancel=cancel):
                yield clip, cached
            return
        results = self.scheduler.run(jobs, ordered=False, use_cache=use_cache, workers=workers,
                                     batch_size=batch_size, cancel=cancel, warn=self.pipeline.warn)
        pending: dict[int, tuple[Audio, bool]] = {}
        for job in jobs:
            if job.request is None:
                continue
            while job.index not in pending:
                done, clip, cached = next(results)
                pending[done.index] = (clip, cached)
            yield pending.pop(job.index)

    def _write(self, jobs: list[Job], rate: int, path: Path, join: JoinConfig,
               speech: Iterator[tuple[Audio, bool]]) -> list[SegmentResult]:
        import soundfile as sf

        from polyvox.audio import _format_for

        fmt = _format_for(path)
        subtype = "PCM_16" if fmt in ("WAV", "FLAC") else None
        try:
            fh = sf.SoundFile(path, "w", samplerate=rate, channels=1, format=fmt, subtype=subtype)
        except (OSError, RuntimeError) as exc:  # soundfile's LibsndfileError is a RuntimeError
            raise PolyvoxError(f"cannot write audio to {str(path)!r}: {exc}") from None
        with fh:
            return self.pipeline.assemble(jobs, rate, join, speech, lambda chunk: fh.write(chunk.samples))
