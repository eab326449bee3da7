"""One render, start to finish. Every render — a script, subtitles, a stream — is

    read → parse → chunk → plan → run → place → (sink) → result

in this module, each step entered once. Scripts and subtitles differ only in the place step
(joins and pauses, `placing.ScriptPlacement`, or cue times, `subtitles.placing.CuePlacement`);
renders differ only in where the placed audio goes (memory, a file, an iterator), which the
kernel decides.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import attrs

from polyvox.audio import Audio
from polyvox.books.book import Book
from polyvox.cache.backend import CacheBackend
from polyvox.cache.keys import Fingerprints
from polyvox.errors import EmptyTextError, ParameterError, PolyvoxError
from polyvox.events import Emitter, Listener, RenderStarted, Warning, WordsTimed
from polyvox.mastering.loudness import leveled, matched
from polyvox.plugin.registry import Plugins
from polyvox.render import sources
from polyvox.render.assembly import JoinConfig
from polyvox.render.chapters import announce, book_language, book_language_note, chapter_marks, reached
from polyvox.render.models import ModelManager
from polyvox.render.options import RenderOptions
from polyvox.render.placing import ScriptPlacement
from polyvox.render.planner import Job, Planner
from polyvox.render.results import RenderResult, RenderStats, SegmentResult
from polyvox.render.scheduler import Scheduler
from polyvox.render.speaking import Lexicon, Speaking
from polyvox.render.units import refuse_nothing_to_say, source_units
from polyvox.subtitles.timing import TimingConfig
from polyvox.text import languages
from polyvox.text.segment import Segment
from polyvox.voices.blending import EngineVoices
from polyvox.voices.casting import Overlay, cast_auto, check_jobs, narrator_voice, recast, unvoiced
from polyvox.voices.library import VoiceLibrary
from polyvox.voices.voice import Voice

_DEFAULT_JOIN = JoinConfig()

#: A voices folder, several (later override earlier), a `VoiceLibrary` or any name -> Voice mapping.
Voices = Mapping[str, Voice] | str | Path | Sequence[str | Path] | None


class RenderScope:
    """One render's listener and warnings. Entered around each step (a stream is entered
    again for every chunk), so renders running at once never hear each other."""

    def __init__(self, renderer: Renderer, on_event: Listener | None):
        self.renderer = renderer
        self.on_event = on_event
        self.warnings: list[str] = []
        self.seen: set[str] = set()
        self.held: list[tuple[str, str, str | None]] | None = None  # kept back: a plan may be made again

    @contextmanager
    def active(self) -> Iterator[RenderScope]:
        token = self.renderer._current.set(self)
        try:
            with self.renderer.events.scoped(self.on_event):
                yield self
        finally:
            self.renderer._current.reset(token)


class Renderer:
    """The parts every render uses, wired once per kernel; `prepare` starts one render."""

    def __init__(self, plugins: Plugins, fingerprints: Fingerprints, models: ModelManager, scheduler: Scheduler,
                 cache: CacheBackend | None, events: Emitter, device: str, seed: int, sample_rate: int | None):
        self.plugins = plugins
        self.fingerprints = fingerprints
        self.models = models
        self.scheduler = scheduler
        self.cache = cache
        self.events = events
        self.device = device
        self.seed = seed
        self.sample_rate = sample_rate
        self.lexicon: Lexicon | None = None  # the kernel's (config key `lexicon`); voices folders add theirs
        self._current: ContextVar[RenderScope | None] = ContextVar(f"polyvox-render-{id(self)}", default=None)
        #: The kernel's ears (`polyvox.listen.hearing.Hearing`), for renders that verify.
        self.hearing: Any = None
        self.replan()

    def replan(self) -> None:
        """A fresh planner after the set of plugins changed."""
        self.planner = Planner(self.plugins, self.fingerprints, self.warn)
        self.speaking = Speaking(self.planner, self.plugins, self.warn)

    def scope(self, on_event: Listener | None = None) -> RenderScope:
        return RenderScope(self, on_event)

    def warn(self, kind: str, message: str, key: str | None = None) -> None:
        """A warning for the render in progress (once per `key`, default the message), also as an event."""
        scope = self._current.get()
        if scope is not None and scope.held is not None:
            return scope.held.append((kind, message, key))
        if scope is not None:
            if (key or message) in scope.seen:
                return
            scope.seen.add(key or message)
            scope.warnings.append(message)
        self.events.emit(Warning(message, kind))

    # -- voices -------------------------------------------------------------------------------
    def voice_library(self, *folders: str | Path) -> VoiceLibrary:
        engine_voices = EngineVoices(self.plugins.ranked())  # and blends of them

        def find(directory: str) -> list[Voice]:
            return [v for found in self.plugins.hook.find_voices(directory=directory) for v in (found or [])]

        return VoiceLibrary.scan(folders, find_voices=find, engine_voices=engine_voices,
                                 known_languages=self.planner.all_language_codes())

    def voices(self, voices: Voices) -> Mapping[str, Voice] | None:
        """A folder, folders or a mapping, as the name -> Voice mapping a render uses."""
        if voices is not None and not isinstance(voices, Mapping):
            if not isinstance(voices, (str, Path, Iterable)):
                raise ParameterError(f"voices={voices!r} is not valid: expected a folder, a list of folders or a "
                                     "mapping of character to Voice")
            voices = self.voice_library(*([voices] if isinstance(voices, (str, Path)) else voices))
        for message in getattr(voices, "warnings", ()):
            self.warn("voice-library", message)
        return voices

    def narrator(self, voice: str | Voice | None, voices: Mapping[str, Voice] | None) -> Voice:
        """The narrator (`polyvox.voices.casting.narrator_voice`) among this kernel's engines."""
        return narrator_voice(voice, voices, self.plugins.ranked())

    # -- the steps before synthesis ---------------------------------------------------------------
    def prepare(self, source: Any, options: RenderOptions, scope: RenderScope) -> Render:
        """Read, parse, chunk and plan: a `Render` whose jobs are resolved and nothing synthesized."""
        with scope.active():
            given = sources.read_source(source)
            if isinstance(given, Book) and options.language is None:
                codes = self.planner.all_language_codes()
                options = attrs.evolve(options, language=book_language(given, codes))
                if (note := book_language_note(given, codes)) is not None:
                    self.warn("book-language", note)
            if not isinstance(given, sources.Subtitles) and options.timing is not None:
                raise PolyvoxError("timing_mode applies to subtitles only: give an .srt file or SRT text")
            for block in getattr(given, "skipped", ()):
                excerpt = block if len(block) <= 60 else block[:57] + "..."
                self.warn("subtitles", f"skipped a block that is not a subtitle cue (its words are not spoken): "
                                       f"{excerpt!r}")
            library = self.voices(options.voices)
            narrator = self.narrator(options.voice, library)
            units, labels = self._parse(given, library, options.strict, options.language)
            casting = unvoiced((s.character for unit in units for s in unit if s.text.strip()), library or {}) \
                if options.cast == "auto" and options.model is None else []
            # cast characters speak as the narrator until they are cast (and are not unknown)
            first = Overlay(library, {name: narrator for name in casting}) if casting else library
            units = [self._chunk(unit, options, narrator, first) for unit in units]
            refuse_nothing_to_say(given, units)
            self.planner.forget_fingerprints()
            scope.held = []  # a plan made again with other voices says its own warnings
            try:
                planned = self._plan(units, labels, options, narrator, first)
            finally:
                held, scope.held = scope.held, None
            flat = [j for jobs in planned for j in jobs]
            extra = recast(flat, self.plugins.specs, self.warn) if options.model is None else {}
            if casting:  # characters with no voice get distinct installed voices of their own
                extra.update(cast_auto(flat, casting, self.plugins.ranked(), options.engine, self.warn))
            if extra:  # and characters the engine cannot clone get its own spare voices
                planned = self._plan(units, labels, options, narrator, Overlay(library, extra))
            for warning in held if not extra else ():
                self.warn(*warning)
            jobs = [job for unit_jobs in planned for job in unit_jobs]
            check_jobs(jobs, self.plugins.specs, self.warn)
            return Render(self, given, jobs, planned, options, scope, self._rate(jobs),
                          labels if isinstance(given, Book) else None)

    def _parse(self, given: sources.Script | sources.Subtitles | Book, voices: Mapping[str, Voice] | None,
               strict: bool, language: str | None) -> tuple[list[list[Segment]], list[str | None]]:
        return source_units(given, codes=self.planner.all_language_codes(), voices=voices, strict=strict,
                            normalizers=self.speaking.speech.normalizers, warn=self.warn,
                            language=languages.normalize(language, self.planner.all_language_codes()) if language
                            else None)

    def _chunk(self, segments: list[Segment], options: RenderOptions, narrator: Voice,
               voices: Mapping[str, Voice] | None) -> list[Segment]:
        return self.speaking.chunk(segments, engine=options.engine, language=options.language, narrator=narrator,
                                   mode=options.normalize, voices=voices, lexicon=self.lexicon)

    def _plan(self, units: list[list[Segment]], labels: list[str | None], options: RenderOptions,
              narrator: Voice, voices: Mapping[str, Voice] | None) -> list[list[Job]]:
        planned: list[list[Job]] = []
        first = 0
        for segments, where in zip(units, labels, strict=True):
            jobs = [] if not any(s.text.strip() for s in segments) else self.planner.plan(
                segments, device=self.device, engine=options.engine, model=options.model, narrator=narrator,
                voices=voices, language=options.language, params=options.params,
                seed=self.seed if options.seed is None else options.seed, strict=True, first_index=first,
                where=where, strict_markup=options.strict)
            first += len(segments)
            planned.append(jobs)
        return planned

    def _rate(self, jobs: list[Job]) -> int:
        """The output sample rate: the kernel's, else the first speaking engine's."""
        if self.sample_rate:
            return self.sample_rate
        for job in jobs:
            if job.engine:
                return self.plugins.specs[job.engine].sample_rate
        raise EmptyTextError("nothing to speak: the script has no text")


class Render:
    """One planned render: `audio()` runs and places it, chunks in order; then `result` is set."""

    def __init__(self, renderer: Renderer, given: sources.Script | sources.Subtitles | Book, jobs: list[Job],
                 units: list[list[Job]], options: RenderOptions, scope: RenderScope, rate: int,
                 chapters: list[str | None] | None = None):
        self.renderer = renderer
        self.given = given
        self.jobs = jobs
        self.units = units
        self.options = options
        self.scope = scope
        self.sample_rate = rate
        self.result: RenderResult | None = None
        self.verifier: Any = None
        #: A book's chapter titles, one per unit (None: not a book), and the chapter (0-based; -1:
        #: none yet) of the last chunk `audio` yielded.
        self.chapters, self.chapter = chapters, -1

    @property
    def is_subtitles(self) -> bool:
        return isinstance(self.given, sources.Subtitles)

    def audio(self, *, streaming: bool = False, output: Path | None = None) -> Iterator[Audio]:
        """Run and place. `streaming`: script order, each segment as soon as it is ready (first
        audio first). Otherwise misses run grouped by model, threaded or batched as asked."""
        r = self.renderer
        with self.scope.active():
            began = time.perf_counter()
            loads, preps, loading = r.models.loads, r.models.voice_preparations, r.models.load_seconds
            speech_jobs = [j for j in self.jobs if j.request is not None]
            r.events.emit(RenderStarted(len(self.jobs), len(speech_jobs),
                                        sum(len(j.request.text) for j in speech_jobs)))
            placement = self._placement()
        seconds, timed = 0.0, 0
        memo = r.cache.store if r.cache is not None else None  # each take's loudness measured once
        chunks = matched(placement.place(leveled(self._speech(streaming), self.options.loudness, memo)),
                         self.options.loudness, getattr(placement, "chapter_starts", ()))
        while True:
            with self.scope.active():
                chunk = next(chunks, None)
                timed = self._words_timed(placement.results, timed)
                self.chapter = announce(self.chapters, self.chapter, reached(placement, seconds, chunk is None),
                                        self.renderer.events.emit)
            if chunk is None:
                break
            seconds += chunk.duration
            yield chunk
        with self.scope.active():
            self.result = self._finish(placement, began, (loads, preps, loading), seconds, output)

    # -- steps ------------------------------------------------------------------------------
    def _words_timed(self, results: list[SegmentResult], done: int) -> int:
        """Announce the words of each segment placed since `done`; return how many are placed."""
        for s in results[done:]:
            if s.words:
                self.renderer.events.emit(WordsTimed(s.index, s.words))
        return len(results)

    def _placement(self) -> Any:
        opts = self.options
        if not self.is_subtitles:
            firsts = {unit[0].index for unit in self.units if unit} if self.chapters is not None else set()
            return ScriptPlacement(self.jobs, self.sample_rate, self._join, firsts)
        from polyvox.subtitles.placing import CuePlacement

        return CuePlacement(self.given.cues, self.units, self.sample_rate, self._join, opts.timing or TimingConfig(),
                            self.renderer.warn)

    def _join(self, job: Job) -> JoinConfig:
        """How `job`'s chunk joins the chunk before it: the caller's join, else the one its engine
        declares (F5-TTS: upstream's 0.15 s crossfade), else the default."""
        declared = self.renderer.plugins.specs[job.engine].join if job.engine else None
        return self.options.join or declared or _DEFAULT_JOIN

    def _speech(self, streaming: bool) -> Iterator[tuple[Job, Audio, bool]]:
        """The run step: every speech job's (job, audio, from_cache), in script order; with
        `verify`, each take heard beside synthesis and the failures retaken (`polyvox.listen.verify`)."""
        # A listener hears each take as it comes, in script order: the takes are made in that order
        # too, so it is fed from the first segment on (made by length, a script's first take can
        # wait for most of the others, and the listener with it).
        heard = self.options.verify is not None or self.options.word_times == "heard"
        if self.options.verify is None:
            made = self._made(self.jobs, streaming or heard)
            if heard:  # takes without the engine's times heard (docs/words.md)
                from polyvox.listen import heardwords

                made = heardwords.for_render(self.renderer, self.options, made)
            yield from made
            return
        from polyvox.listen.verify import for_render

        models = {j.model_key for j in self.jobs if j.request is not None}
        batch = max((self._batch_size(key) for key in models), default=1)
        self.verifier, verified = for_render(self.renderer, self.options, self.jobs,
                                             lambda jobs: self._made(jobs, True), batch)
        yield from verified

    def _made(self, jobs: list[Job], in_order: bool) -> Iterator[tuple[Job, Audio, bool]]:
        """`jobs` through the scheduler: (job, audio, from_cache) of each speech job, in script
        order; with `in_order` also made in that order (a stream, a listener), else grouped by
        model and batched by length, as is fastest for a whole render."""
        speech = [j for j in jobs if j.request is not None]
        with self.renderer.models.hold(j.model_key for j in speech):  # never unloaded mid-render
            yield from self._scheduled(jobs, speech, in_order)

    def _scheduled(self, jobs: list[Job], speech: list[Job], in_order: bool) -> Iterator[tuple[Job, Audio, bool]]:
        scheduler, opts = self.renderer.scheduler, self.options
        models = {j.model_key for j in speech}
        batching = any(self._batch_size(key) > 1 for key in models)
        if in_order or (opts.workers == 1 and not batching and len(models) <= 1):
            yield from scheduler.run(jobs, ordered=True, use_cache=opts.use_cache, batch_size=opts.batch_size,
                                     cancel=opts.cancel)
            return
        results = scheduler.run(jobs, ordered=False, use_cache=opts.use_cache, workers=opts.workers,
                                batch_size=opts.batch_size, cancel=opts.cancel, warn=self.renderer.warn)
        pending: dict[int, tuple[Job, Audio, bool]] = {}
        for job in speech:
            while job.index not in pending:
                done, clip, cached = next(results)
                pending[done.index] = (done, clip, cached)
            yield pending.pop(job.index)

    def _batch_size(self, key: tuple[str, str, str]) -> int:
        """Segments per call for the model `key` (engine, model, device): the caller's size,
        else the engine's declared size for the device."""
        caps = self.renderer.plugins.specs[key[0]].capabilities
        if not caps.batch:
            return 1
        return self.options.batch_size or caps.batch_size_for(key[2])

    def _finish(self, placement: Any, began: float, before: tuple[int, int, float], seconds: float,
                output: Path | None) -> RenderResult:
        r = self.renderer
        loads, preps, loading = before
        results: list[SegmentResult] = placement.results
        speech = [s for s in results if s.engine]
        cached = sum(s.cached for s in speech)
        if r.cache is not None:
            r.cache.record_render(cached, len(speech) - cached)
        stats = RenderStats(
            segments=len(results), speech_segments=len(speech), synthesized=len(speech) - cached, cached=cached,
            audio_seconds=seconds, wall_seconds=time.perf_counter() - began,
            model_loads=r.models.loads - loads, voice_preparations=r.models.voice_preparations - preps,
            model_load_seconds=r.models.load_seconds - loading)
        return RenderResult(None, tuple(results), stats, tuple(self.scope.warnings), output,
                            timing=tuple(getattr(placement, "report", ())), srt=getattr(placement, "srt", None),
                            sample_rate=self.sample_rate,
                            verification=self.verifier.report() if self.verifier is not None else None,
                            chapters=chapter_marks(self.chapters, getattr(placement, "chapter_starts", ()), seconds))


class RenderStream:
    """`Kernel.stream`'s answer: iterate it for audio chunks in script order; afterwards
    `result` holds the same `RenderResult` a `render` returns (with ``audio`` None)."""

    def __init__(self, render: Render):
        self._render = render
        self.sample_rate = render.sample_rate
        self._chunks = render.audio(streaming=True)

    def __iter__(self) -> Iterator[Audio]:
        return self

    def __next__(self) -> Audio:
        return next(self._chunks)

    @property
    def jobs(self) -> list[Job]:
        """The planned segments (as `Kernel.plan` returns them), known before the first chunk."""
        return list(self._render.jobs)

    @property
    def result(self) -> RenderResult | None:
        """None until the last chunk has been taken."""
        return self._render.result

    def close(self) -> None:
        self._chunks.close()

