"""`Kernel`: the Python API that the CLI, servers and host apps use.

    kernel = polyvox.Kernel()
    audio = kernel.synthesize("Hello there")            # -> Audio
    result = kernel.render(script_text, voices="voices") # -> RenderResult (audio in memory)
    kernel.render(Path("film.srt"), output="film.flac")  # written as it is made
    stream = kernel.stream(script_text)                  # Audio chunks in script order ...
    for chunk in stream: ...
    stream.result                                        # ... then the same RenderResult
    kernel.render(script_text, verify=True)              # every take heard, failures retaken
    kernel.listen(audio)                                 # -> Heard: timed words, language
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from polyvox.arguments import check_kernel_options, check_listener, loudness_of
from polyvox.audio import Audio
from polyvox.books.book import Book
from polyvox.cache.keys import Fingerprints
from polyvox.cache.opening import open_cache
from polyvox.cache.reports import CacheStats
from polyvox.cache.store import DEFAULT_SIZE_LIMIT
from polyvox.distributed import executor_from
from polyvox.errors import ParameterError, PolyvoxError, ScriptError
from polyvox.events import CancelToken, Emitter, Listener
from polyvox.listen.heard import Heard, ListenerSpec
from polyvox.listen.hearing import Hearing
from polyvox.mastering.loudness import Loudness
from polyvox.names import check_device
from polyvox.plugin.registry import PluginFailure, PluginInfo, Plugins
from polyvox.plugin.spec import EngineSpec
from polyvox.render.assembly import JoinConfig
from polyvox.render.models import ModelManager
from polyvox.render.options import RenderOptions
from polyvox.render.orchestrator import Render, Renderer, RenderStream, Voices
from polyvox.render.output import AudioWriter
from polyvox.render.planner import DEFAULT_SEED, Job, check_seed
from polyvox.render.residency import KeepAlive, parse_max_memory
from polyvox.render.results import RenderResult
from polyvox.render.scheduler import Scheduler
from polyvox.render.sources import Source
from polyvox.subtitles.timing import TimingConfig
from polyvox.text import languages
from polyvox.text.segment import Segment
from polyvox.voices.library import VoiceLibrary
from polyvox.voices.voice import Voice
from polyvox.weights.service import Weights


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
        executor: Any = None,
        lexicon: str | Path | None = None,
        keep_alive: Any = None,
        max_memory: Any = None,
        cache_url: str | None = None,
        cache_local: bool = False,
    ):
        """`executor`: where engine calls run — None or "sequential" (this process), "ray"
        (a local or joined Ray cluster), a `polyvox.distributed.RayExecutor(...)`, or any
        `polyvox.render.execution.Executor` (docs/executors.md). `lexicon`: a pronunciation
        lexicon file (docs/text.md). `keep_alive`: how long an unused model stays loaded
        (``"10m"``, 0: unload once unused, -1 or None: for good; a list adds per-model
        ``"engine[:model]=DURATION"``); `max_memory`: bytes per device loaded models may hold
        (``{"cpu": 4 << 30}`` or ``["cuda:0=20GB"]``), past which the least recently used go
        (docs/serving.md). `cache_url`: a shared cache (``redis://host:6379/0``; env
        POLYVOX_CACHE_URL) instead of the directory, with `cache_local` a directory in front
        of it (docs/deploy.md)."""
        if isinstance(plugins, str):  # a name alone would be read as its letters, and load nothing
            raise ParameterError(f"plugins={plugins!r} is not valid: expected a list of plugin names, such as "
                                 f"[{plugins!r}]")
        if sample_rate is not None and (isinstance(sample_rate, bool) or not isinstance(sample_rate, int)
                                        or not 1000 <= sample_rate <= 384_000):
            raise ParameterError(f"sample_rate={sample_rate!r} is not valid: expected None (the engine's own) or "
                                 "samples per second, 1000 to 384000")
        check_kernel_options(cache_dir, cache_size_limit, max_models, memory_budget, on_event)
        self.device = check_device((os.environ.get("POLYVOX_DEVICE") or "auto") if device is None else device)
        self.seed = check_seed(seed)  # now, not at the first render
        self.events = Emitter()
        if on_event is not None:
            self.events.subscribe(on_event)
        self.plugins = Plugins(plugins, load_entry_points=load_entry_points)
        self.cache = open_cache(cache_dir, cache_size_limit, cache_url, cache_local) if cache else None
        self.fingerprints = Fingerprints(self.cache.store if self.cache else None)
        self.weights = Weights(self.plugins.hook, self.events.emit, downloads)  # "ask" | "yes" | "never"
        self.models = ModelManager(self.plugins.hook, self.events.emit, max_models, memory_budget, self.weights,
                                   KeepAlive.parse(keep_alive), parse_max_memory(max_memory))
        self.models.start_reaper()
        self.scheduler = Scheduler(self.plugins, self.models, self.cache, self.events.emit)
        self.scheduler.executor = executor_from(executor)
        self.renderer = Renderer(self.plugins, self.fingerprints, self.models, self.scheduler, self.cache,
                                 self.events, self.device, seed, sample_rate)
        if lexicon is not None:
            from polyvox.text.lexicon import Lexicon, read_file

            self.renderer.lexicon = Lexicon(read_file(lexicon))
        self.hearing = Hearing(self.plugins, self.models, self.device)
        self.renderer.hearing = self.hearing
        if self.cache is not None:  # the cache's problems are warnings of the render that meets them
            self.cache.warn = self.renderer.warn

    # -- plugins and engines --------------------------------------------------------------
    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register a plugin object directly (host apps, tests)."""
        registered = self.plugins.register(plugin, name=name)
        self.plugins.refresh()
        self.renderer.replan()
        return registered

    def engines(self) -> list[EngineSpec]:
        return self.plugins.ranked()

    def engine(self, name: str) -> EngineSpec:
        return self.renderer.planner.spec(name)

    def listeners(self) -> list[ListenerSpec]:
        """Installed listeners (speech recognition for `verify` and `listen`), the default first."""
        return self.hearing.ranked()

    def listener(self, name: str) -> ListenerSpec:
        """The installed listener `name` (a one-line error naming the installed ones otherwise)."""
        return self.hearing.resolve(name.partition(":")[0] or None)[0]

    def listen(self, audio: Audio | str | Path, language: str | None = None, listener: str | None = None) -> Heard:
        """Hear `audio` (an `Audio` or an audio file): its words with their times, the text, and
        the language where the listener tells. `language` is a hint; `listener` is ``NAME`` or
        ``NAME:MODEL`` (None: the best installed, its default model)."""
        clip = audio if isinstance(audio, Audio) else Audio.read(audio)
        code = languages.require(language) if language is not None else None
        return self.hearing.hear(clip, code, listener)

    def check(self, audio: Audio | str | Path, source: Source, *, listener: str | None = None,
              language: str | None = None, max_wer: float | None = None) -> Any:
        """Hear a finished render (or any audio) against its script or subtitles (`source`, as
        `render` takes it): a `CheckReport` with each segment's (each cue's) words expected and
        heard, word error rate, language and flags. `language`: of lines without a tag (None: read
        from their letters, as a render reads them)."""
        from polyvox.listen.check import check
        from polyvox.listen.verdict import MAX_WER, check_max_wer

        clip = audio if isinstance(audio, Audio) else Audio.read(audio)
        code = languages.require(language, self.language_codes()) if language else None
        return check(self.hearing, clip, source, listener=listener, language=code,
                     max_wer=MAX_WER if max_wer is None else check_max_wer(max_wer),
                     known_languages=self.language_codes())

    def plugin_of(self, engine: str) -> str | None:
        """The name of the plugin that declares `engine`."""
        return self.plugins.plugin_of(engine)

    def runs_in(self, engine: str) -> str:
        """Where `engine` runs: "in-process", or its own environment (path, Python, package versions)."""
        return self.plugins.where(engine)

    def model_for(self, engine: str, language: str) -> str | None:
        """The model `engine` speaks `language` with (language packs included), or None."""
        return self.renderer.planner.model_for(engine, languages.require(language, self.language_codes()))

    def language_codes(self) -> set[str]:
        """Every language code an installed engine declares."""
        return self.renderer.planner.all_language_codes()

    @property
    def planner(self) -> Any:
        """The planner (internal; for tests and the contract kit)."""
        return self.renderer.planner

    def plugin_info(self) -> list[PluginInfo]:
        return self.plugins.info()

    @property
    def failures(self) -> list[PluginFailure]:
        return list(self.plugins.failures)

    def models_for(self, engine: str) -> dict[str, str]:
        """Language -> model for every language the engine (or a language pack) serves."""
        spec = self.engine(engine)
        planner = self.renderer.planner
        # Declared codes, and every code polyvox knows: a language pack may add any of them.
        codes = set(spec.languages) | planner.all_language_codes() | set(languages.known_codes())
        return {code: model for code in sorted(codes) if (model := planner.model_for(engine, code))}

    def subscribe(self, listener: Listener) -> Any:
        """Call `listener(event)` for every event; returns a function that unsubscribes."""
        return self.events.subscribe(listener)

    # -- synthesis ------------------------------------------------------------------------
    def synthesize(self, text: str, engine: str | None = None, voice: str | Voice | None = None,
                   language: str | None = None, model: str | None = None, seed: int | None = None,
                   use_cache: bool = True, voices: Voices = None, **params: Any) -> Audio:
        """One text to one `Audio`, through the same cache and models as everything else.
        Engine parameters are keywords: ``synthesize("Hi", engine="piper", length_scale=1.2)``."""
        if not isinstance(text, str):
            raise ScriptError(f"the text to speak must be a str, not {type(text).__name__}")
        result = self.render([Segment(text=text)], engine=engine, voice=voice, voices=voices, language=language,
                             model=model, seed=seed, params=params, use_cache=use_cache)
        assert result.audio is not None
        return result.audio

    def plan(self, source: Source, *, engine: str | None = None, model: str | None = None,
             voice: str | Voice | None = None, voices: Voices = None, language: str | None = None,
             seed: int | None = None, params: Mapping[str, Any] | None = None, strict: bool = False,
             cast: str | None = None, normalize: bool | None = None) -> list[Job]:
        """Resolve a script (or subtitles) into jobs without synthesizing anything; each job's
        `request.text` is what its engine would receive."""
        options = RenderOptions(engine=engine, model=model, voice=voice, voices=voices, language=language,
                                seed=seed, params=params, strict=strict, cast=cast, normalize=normalize)
        return self.renderer.prepare(source, options, self.renderer.scope()).jobs

    def render(self, source: Source, *, engine: str | None = None, model: str | None = None,
               voice: str | Voice | None = None, voices: Voices = None,
               language: str | None = None, seed: int | None = None, params: Mapping[str, Any] | None = None,
               use_cache: bool = True, workers: int = 1, batch_size: int | None = None, join: JoinConfig | None = None,
               cancel: CancelToken | None = None, on_event: Listener | None = None,
               output: str | Path | BinaryIO | None = None, format: str | None = None,
               timing_mode: str | None = None, timing: TimingConfig | None = None, strict: bool = False,
               cast: str | None = None, normalize: bool | None = None,
               verify: Any = None, word_times: str | None = None,
               loudness: float | Loudness | None = None, true_peak: float | None = None,
               split: str | None = None) -> RenderResult:
        """Render a whole script or subtitle file.

        With `output` (a path, or a binary stream such as stdout with `format`), audio goes
        there as it is made and `result.audio` is None; a path is only created once complete.
        Subtitles (cues, an .srt `Path`, SRT text) are fitted to their cue times by
        `timing_mode` (or `timing`, a `TimingConfig`); `result.timing` holds the per-cue
        report and `result.srt` the adjusted subtitles. Markup problems are warnings
        (`result.warnings`) unless `strict`, which makes them one-line `ScriptError`s.
        `cast`: characters the voices do not name speak with the narrator's voice (None,
        "narrator"), or with "auto" each with a distinct installed voice, the same on every run.
        `normalize`: numbers, dates and abbreviations in words (docs/text.md): None for engines
        that do not read them themselves, True always, False never.
        `batch_size`: segments of one voice per call for engines that batch; None (the default)
        takes each engine's declared size for the device (`Capabilities.batch_sizes`), else 1.
        `verify`: True, a listener (``"whisper:small"``) or `VerifyOptions`: every take is heard
        beside synthesis, a failing one retaken with another seed, the verdicts cached and
        reported in `result.verification`; with `strict`, a segment that still fails raises.
        `word_times`: where `result.words` come from when the engine gives none (docs/words.md):
        "auto" (None; heard when verifying, else estimated from the audio) or "heard" (a listener
        hears those segments).

        A book (`read_book`, or an .epub, .md or .html `Path`) is spoken chapter by chapter;
        `result.chapters` says where each starts, and an output that holds chapters (.m4b, .mp3,
        .ogg, .opus, .flac) gets them with the book's title, author and cover. `split`
        "chapters" writes one file per chapter beside `output` instead (docs/books.md).
        `loudness`: every take brought to this many LUFS at assembly (the cache keeps it raw),
        true peaks under `true_peak` dBTP (default -1; ACX asks for -3).
        """
        render = self._prepare(source, on_event, engine=engine, model=model, voice=voice, voices=voices,
                               language=language, seed=seed, params=params, use_cache=use_cache, workers=workers,
                               batch_size=batch_size, join=join, cancel=cancel, timing_mode=timing_mode,
                               timing=timing, strict=strict, cast=cast,
                               normalize=normalize, verify=verify, word_times=word_times,
                               loudness=loudness_of(loudness, true_peak))
        book = render.given if isinstance(render.given, Book) else None
        tags, cover = (book.tags, book.cover) if book is not None else ({}, None)
        if split is not None:
            from polyvox.containers.split import SPLITS, write_split

            if split not in SPLITS or not isinstance(output, (str, Path)):
                raise ParameterError(f"split={split!r} is not valid: use 'chapters', with an output path")
            return write_split(render, Path(output), format, tags, cover)
        if output is None:
            audio = Audio.concatenate(render.audio(), render.sample_rate)  # each chunk kept only once
            assert render.result is not None
            render.result.check_spoken()
            return attrs.evolve(render.result, audio=audio)
        path = Path(output) if isinstance(output, (str, Path)) else None
        acx = render.options.loudness is not None and render.options.loudness.acx
        with AudioWriter(output, render.sample_rate, format, acx=acx) as out:
            out.tags, out.cover = tags, cover
            for chunk in render.audio(output=path):
                out.write(chunk)
            assert render.result is not None
            render.result.check_spoken()  # before the writer keeps the file
            out.chapters = render.result.chapters
        return render.result

    def stream(self, source: Source, *, engine: str | None = None, model: str | None = None,
               voice: str | Voice | None = None, voices: Voices = None,
               language: str | None = None, seed: int | None = None, params: Mapping[str, Any] | None = None,
               use_cache: bool = True, batch_size: int | None = None, join: JoinConfig | None = None,
               cancel: CancelToken | None = None, on_event: Listener | None = None, timing_mode: str | None = None,
               timing: TimingConfig | None = None, strict: bool = False, cast: str | None = None,
               normalize: bool | None = None, verify: Any = None, word_times: str | None = None,
               loudness: float | Loudness | None = None,
               true_peak: float | None = None) -> RenderStream:
        """Audio chunks in output order as soon as each is ready (first segments first).

        A stream asks for one segment at a time; on an engine that batches, its segments share
        calls with other renders of the same model and voice running at the same moment (a
        server's concurrent requests), up to `batch_size` per call: None (the default) takes
        the engine's declared size for the device, 1 keeps every segment on its own.

        The script is read and planned before this returns, so bad input raises here, before
        any audio; iterate the stream for chunks, then `stream.result` is the `RenderResult`.
        `verify` as in `render`: each chunk comes once its take is heard (and retaken if need be);
        `word_times` as in `render`.
        """
        render = self._prepare(source, on_event, engine=engine, model=model, voice=voice, voices=voices,
                               language=language, seed=seed, params=params, use_cache=use_cache,
                               batch_size=batch_size, join=join, cancel=cancel, timing_mode=timing_mode,
                               timing=timing, strict=strict, cast=cast,
                               normalize=normalize, verify=verify, word_times=word_times,
                               loudness=loudness_of(loudness, true_peak))
        return RenderStream(render)

    def _prepare(self, source: Source, on_event: Listener | None, *, timing_mode: str | None,
                 timing: TimingConfig | None, **options: Any) -> Render:
        check_listener(on_event)  # it failed later, once per event, in a log
        if timing_mode is not None:
            timing = attrs.evolve(timing or TimingConfig(), mode=timing_mode)
        scope = self.renderer.scope(on_event)
        return self.renderer.prepare(source, RenderOptions(timing=timing, **options), scope)

    # -- cache and models -----------------------------------------------------------------
    def cache_stats(self) -> CacheStats | None:
        return self.cache.stats() if self.cache else None

    def clear_cache(self) -> int:
        return self.cache.clear() if self.cache else 0

    def unload(self, engine: str, model: str, device: str | None = None) -> bool:
        return self.models.unload(engine, model, device or self.device)

    def unload_all(self) -> int:
        return self.models.unload_all()

    def load(self, engine: str, model: str | None = None, device: str | None = None) -> tuple[str, str, str]:
        """Load `engine`'s `model` (None: its default) now, as a render would, and return its
        key (engine, model, device); it then stays as long as its keep-alive lets it."""
        spec = self.engine(engine)
        chosen = model or spec.default_model
        if not chosen:
            raise PolyvoxError(f"engine {engine!r} has no default model: name one ({', '.join(spec.models) or 'none'})")
        key = (engine, chosen, device or self.device)
        with self.models.hold([key]):
            self.models.get(*key)
        return key

    def close(self) -> None:
        """Give back what this kernel holds: its loaded models (in isolated engines' workers
        too), its keep-alive thread, its executor's replicas and the cache's open files, with
        the cache's pending access times written. A kernel used after `close` loads and opens
        again what it needs (its models then stay until unloaded: no keep-alive thread).
        ``with polyvox.Kernel() as kernel:`` closes it at the block's end."""
        self.models.stop_reaper()
        self.models.unload_all()
        shutdown = getattr(self.scheduler.executor, "shutdown", None)
        if callable(shutdown):
            shutdown()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def voice_library(self, *folders: str | Path) -> VoiceLibrary:
        """The voices in `folders` (later override earlier), with every engine's model voices
        (`find_voices` hook) and built-in voices available to alias lines."""
        return self.renderer.voice_library(*folders)
