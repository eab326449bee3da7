"""The segment scheduler: look up the cache, have only the misses made, commit each result the
moment it exists.

Where the calls run is an executor's business (polyvox.render.execution); the cache is the
scheduler's alone: it looks every segment up before anything runs and commits every segment an
executor hands back, so no executor ever sees the cache. In this process, calls run one after
another by default (parallel threads on one GPU were measured slower), in threads only for
engines that declare themselves thread-safe, and in batches for engines that declare batch
synthesis; a kernel given an executor (Ray) hands it every miss of a render at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from polyvox.audio import Audio
from polyvox.cache.backend import CacheBackend
from polyvox.errors import Cancelled, PolyvoxError
from polyvox.events import CancelToken, Event, SegmentFinished, SegmentStarted
from polyvox.plugin.registry import Plugins
from polyvox.render.batching import SharedBatches
from polyvox.render.execution import (
    Call,
    Done,
    Executor,
    Failed,
    Made,
    Outcome,
    SequentialExecutor,
    ThreadExecutor,
    engine_call,
    guard,
    segment_error,
)
from polyvox.render.models import LoadedModel, ModelManager
from polyvox.render.planner import Job
from polyvox.words.mapping import estimated

Results = Iterator[tuple[Job, Audio, bool]]


class _Progress:
    """How far a render got, and its cancel token."""

    def __init__(self, total: int, cancel: CancelToken | None, kept: bool = True):
        self.total = total
        self.kept = kept  # finished segments go into a cache (not with cache=False or use_cache=False)
        self.done = 0
        self.ahead = 0  # made (and cached) ahead of their turn, not yielded yet
        self.cancel = cancel

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def check(self) -> None:
        if self.cancelled:
            finished = self.done + self.ahead
            kept = "; finished segments are cached" if self.kept else " (no cache: they are not kept)"
            raise Cancelled(f"cancelled after {finished} of {self.total} segments{kept}",
                            finished=finished, total=self.total)


class Scheduler:
    def __init__(self, plugins: Plugins, models: ModelManager, cache: CacheBackend | None,
                 emit: Callable[[Event], None]):
        self.plugins = plugins
        self.models = models
        self.cache = cache
        self.emit = emit
        self.calls = 0  # engine calls made (segments or batches), for tests and benchmarks
        #: Batches shared by concurrent renders (engines that batch, batch_size > 1).
        self.batches = SharedBatches()
        #: Runs every render's misses (polyvox.distributed, e.g. a Ray cluster); None: this
        #: process, one model at a time.
        self.executor: Executor | None = None

    # -- public ------------------------------------------------------------------------
    def run(self, jobs: list[Job], *, ordered: bool, use_cache: bool = True, workers: int = 1,
            batch_size: int | None = 1, cancel: CancelToken | None = None,
            warn: Callable[[str, str], None] | None = None) -> Results:
        """Yield (job, audio, from_cache) for every speech job.

        `ordered`: script order, each job as soon as it is ready (streaming). Otherwise
        throughput order: misses grouped by model, so each model loads once and a model
        whose segments are all cached is never loaded. `batch_size` None: each engine's
        declared size for the device (`Capabilities.batch_size_for`).
        """
        speech = [j for j in jobs if j.request is not None]
        progress = _Progress(len(speech), cancel, kept=use_cache and self.cache is not None)
        if use_cache and self.cache is not None:  # a shared cache reads them ahead, many per round trip
            self.cache.expect([j.key for j in speech if j.key is not None])
        if self.executor is not None:
            results = self._elsewhere(speech, ordered, use_cache, batch_size, progress)
        elif ordered:
            results = self._in_order(speech, use_cache, batch_size, progress)
        else:
            results = self._by_model(speech, use_cache, workers, batch_size, progress, warn)
        for job, audio, cached in results:
            progress.done += 1
            yield job, audio, cached

    # -- the three ways ------------------------------------------------------------------
    def _by_model(self, speech: list[Job], use_cache: bool, workers: int, batch_size: int | None,
                  progress: _Progress, warn: Callable[[str, str], None] | None) -> Results:
        """Throughput order in this process: one model after another, threads for engines that
        are thread-safe."""
        hits, misses, repeats = self._hits(speech, use_cache)
        for job, audio in hits:
            yield job, audio, True
        groups: dict[tuple[str, str, str], list[Job]] = {}
        for job in misses:
            groups.setdefault(job.model_key, []).append(job)
        for key, group in groups.items():
            progress.check()
            caps = self.plugins.specs[key[0]].capabilities
            size = batch_size or caps.batch_size_for(key[2])
            parallel = workers > 1 and caps.thread_safe
            if workers > 1 and not caps.thread_safe and warn:
                warn("workers", f"engine {key[0]!r} is not thread-safe: running its segments one at a time")
            executor: Executor = ThreadExecutor(workers) if parallel else SequentialExecutor()
            calls = self._group_calls(group, size, use_cache, progress)
            yield from self._execute(executor, calls, use_cache, repeats, progress)

    def _elsewhere(self, speech: list[Job], ordered: bool, use_cache: bool, batch_size: int | None,
                   progress: _Progress) -> Results:
        """The kernel's executor gets every miss at once (cache hits never leave this process);
        in script order when `ordered`, else as they come back."""
        assert self.executor is not None
        ready: dict[int, tuple[Job, Audio, bool]] = {}
        order = iter(speech)
        upcoming = next(order, None)

        def release() -> Results:
            nonlocal upcoming
            if not ordered:
                yield from (ready.pop(i) for i in list(ready))
                return
            while upcoming is not None and upcoming.index in ready:
                yield ready.pop(upcoming.index)
                upcoming = next(order, None)

        hits, misses, repeats = self._hits(speech, use_cache)
        ready.update((job.index, (job, audio, True)) for job, audio in hits)
        yield from release()
        calls = self._script_calls(misses, self.executor.batch_size or batch_size, ordered, use_cache, progress)
        for job, audio, cached in self._execute(self.executor, calls, use_cache, repeats, progress):
            ready[job.index] = (job, audio, cached)
            yield from release()

    def _in_order(self, speech: list[Job], use_cache: bool, batch_size: int | None, progress: _Progress) -> Results:
        """Script order in this process, each job as soon as it is ready. For an engine that
        batches, the next misses of the same model and voice are made together: the first
        alone (the first audio waits for nobody), then twice as many each time up to the batch
        size, so what is made ahead grows with what is already there to play."""
        ready: dict[int, tuple[Audio, bool]] = {}  # position -> audio made ahead
        failed: dict[int, PolyvoxError] = {}  # position -> why a segment made ahead failed
        window = 1
        for n, job in enumerate(speech):
            progress.ahead = len(ready)
            progress.check()
            if n in failed:
                raise failed[n]
            if n not in ready:
                hit = self._lookup(job, use_cache)
                if hit is not None:
                    ready[n] = (hit, True)
                else:
                    caps = self.plugins.specs[job.engine].capabilities
                    size = batch_size or caps.batch_size_for(job.model_key[2])
                    group = [(n, job)]
                    if caps.batch and size > 1:
                        group += self._ahead(speech, n, min(window, size) - 1, use_cache, ready)
                        window = min(2 * window, size)
                    position = {j.index: m for m, j in group}
                    done = self._call([j for _, j in group], use_cache, progress, size).make()
                    for outcome in done.outcomes:
                        m = position[outcome.job.index]
                        if isinstance(outcome, Failed):
                            # a segment made ahead that failed: this render meets the error at that
                            # segment's turn, after the audio before it
                            failed[m] = outcome.error
                        else:
                            ready[m] = (self._commit(outcome, use_cache), False)
                    if n in failed:
                        raise failed[n]
                    if n not in ready:  # not made: its render was cancelled while it waited
                        progress.ahead = len(ready)
                        progress.check()
            audio, cached = ready.pop(n)
            yield job, audio, cached

    # -- lookups ---------------------------------------------------------------------------
    def _hits(self, speech: list[Job], use_cache: bool) -> tuple[list[tuple[Job, Audio]], list[Job],
                                                                  dict[str, list[Job]]]:
        """The cache hits (announced), the misses, and the later jobs that repeat each miss's
        content (made once, served to every repeat)."""
        hits: list[tuple[Job, Audio]] = []
        misses: list[Job] = []
        repeats: dict[str, list[Job]] = {}
        for job in speech:
            hit = self._lookup(job, use_cache)
            if hit is not None:
                hits.append((job, hit))
            elif job.key is not None and job.key in repeats:
                repeats[job.key].append(job)
            else:
                if job.key is not None:
                    repeats[job.key] = []
                misses.append(job)
        return hits, misses, repeats

    def _ahead(self, speech: list[Job], n: int, count: int, use_cache: bool,
               ready: dict[int, tuple[Audio, bool]]) -> list[tuple[int, Job]]:
        """Up to `count` misses right after position `n` that share its model and voice (a
        cache hit on the way is kept in `ready`; a repeat of a text already taken is left for
        the cache)."""
        first = speech[n]
        taken, keys = [], {first.key}
        for m in range(n + 1, len(speech)):
            job = speech[m]
            if len(taken) == count or job.model_key != first.model_key or job.voice_key != first.voice_key:
                break
            if job.key is not None and job.key in keys:
                continue
            hit = self._lookup(job, use_cache)
            if hit is not None:
                ready[m] = (hit, True)
                continue
            taken.append((m, job))
            keys.add(job.key)
        return taken

    def _lookup(self, job: Job, use_cache: bool) -> Audio | None:
        if not use_cache or self.cache is None or job.key is None:
            return None
        hit = self.cache.get(job.key)
        if hit is not None:
            self._finished(job, hit, cached=True, seconds=0.0)
        return hit

    # -- calls -------------------------------------------------------------------------------
    def _group_calls(self, group: list[Job], batch_size: int, use_cache: bool, progress: _Progress) -> list[Call]:
        """One model's misses as calls: one segment each, or batches of one voice (shortest
        texts together, to limit padding) for an engine that batches."""
        if not (self.plugins.specs[group[0].engine].capabilities.batch and batch_size > 1):
            return [self._call([j], use_cache, progress) for j in group]
        by_voice: dict[str | None, list[Job]] = {}
        for job in group:
            by_voice.setdefault(job.voice_key, []).append(job)
        calls = []
        for same_voice in by_voice.values():
            same_voice.sort(key=lambda j: len(j.request.text))
            for i in range(0, len(same_voice), batch_size):
                calls.append(self._call(same_voice[i : i + batch_size], use_cache, progress, batch_size))
        return calls

    def _script_calls(self, misses: list[Job], batch_size: int | None, ordered: bool, use_cache: bool,
                      progress: _Progress) -> list[Call]:
        """Every miss as calls for an executor that takes them all at once: in script order when
        `ordered` (first audio first), else by model; same-model same-voice batches for engines
        that batch."""
        if not ordered:  # stable: script order within each model
            rank = {key: i for i, key in enumerate(dict.fromkeys(m.model_key for m in misses))}
            misses = sorted(misses, key=lambda j: rank[j.model_key])
        units: list[list[Job]] = []
        open_batch: dict[tuple[object, ...], list[Job]] = {}
        for job in misses:
            caps = self.plugins.specs[job.engine].capabilities
            size = batch_size or caps.batch_size_for(job.device)
            if not (caps.batch and size > 1):
                units.append([job])
                continue
            group = (job.model_key, job.voice_key)
            if group not in open_batch:
                open_batch[group] = []
                units.append(open_batch[group])
            open_batch[group].append(job)
            if len(open_batch[group]) == size:
                del open_batch[group]
        return [self._call(unit, use_cache, progress, len(unit)) for unit in units]

    def _call(self, jobs: list[Job], use_cache: bool, progress: _Progress, batch_size: int = 1) -> Call:
        """`jobs` (one model and voice) as a `Call`. Made in this process with a `batch_size`
        above 1 on an engine that batches, the call is shared with concurrent renders of the
        same model and voice (`polyvox.render.batching`)."""
        engine = jobs[0].engine
        spec = self.plugins.specs[engine]

        def started() -> None:
            for job in jobs:
                self.emit(SegmentStarted(job.index, job.segment.character, job.request.language,
                                         job.request.text, job.engine))

        def make() -> Done:
            with self.models.lease(*jobs[0].model_key, fingerprint=jobs[0].model_fingerprint) as entry:
                started()
                if batch_size > 1 and spec.capabilities.batch:
                    return Done(tuple(self._shared(entry, jobs, batch_size, progress)))
                return Done(tuple(self._outcomes(entry, jobs)))

        return Call(tuple(jobs), spec, self.plugins.plugin_of(engine), self.plugins.loadable(), make, started)

    def _outcomes(self, entry: LoadedModel, jobs: list[Job]) -> list[Outcome]:
        """One engine call here; a batch that fails is made again one segment at a time, so
        only the segments that fail are lost."""
        start = time.perf_counter()
        try:
            out = self._engine(entry, jobs)
        except Exception as exc:
            if len(jobs) > 1:
                return [outcome for job in jobs for outcome in self._outcomes(entry, [job])]
            return [Failed(jobs[0], segment_error(jobs[0], exc))]
        seconds = (time.perf_counter() - start) / len(jobs)
        return [Made(job, audio, seconds) for job, audio in zip(jobs, out, strict=True)]

    def _shared(self, entry: LoadedModel, jobs: list[Job], batch_size: int, progress: _Progress) -> list[Outcome]:
        """`jobs` through the lane of their model and voice; a failed shared batch is made again
        item by item, so only the render whose segment fails gets the error. A job its render
        dropped (cancelled while it waited) has no outcome."""
        caps = self.plugins.specs[jobs[0].engine].capabilities
        items = self.batches.run((*entry.key, jobs[0].voice_key), jobs, batch_size,
                                 guard=lambda: guard(entry, caps), call=lambda batch: self._engine(entry, batch),
                                 check_cancel=progress.check)
        outcomes: list[Outcome] = []
        for item in items:
            if item.audio is not None:
                outcomes.append(Made(item.job, item.audio, item.seconds))
            elif item.error is not None:
                outcomes.append(Failed(item.job, segment_error(item.job, item.error)))
            elif item.retry:
                outcomes += self._outcomes(entry, [item.job])
        return outcomes

    def _engine(self, entry: LoadedModel, jobs: list[Job]) -> list[Audio]:
        self.calls += 1
        return engine_call(self.plugins.hook, self.models, entry, self.plugins.specs[jobs[0].engine].capabilities,
                           jobs[0].voice_key, [j.request for j in jobs])

    # -- results -------------------------------------------------------------------------------
    def _execute(self, executor: Executor, calls: Iterable[Call], use_cache: bool, repeats: dict[str, list[Job]],
                 progress: _Progress) -> Results:
        """Run `calls` on `executor`, committing each segment as it comes back. After a failure
        or a cancel no new call starts; those under way are committed, then the first failure
        (or `Cancelled`) is raised."""
        failure: PolyvoxError | None = None

        def stopping() -> bool:
            return failure is not None or progress.cancelled

        def feed() -> Iterator[Call]:
            for call in calls:
                if stopping():
                    return
                yield call

        for done in executor.run(feed(), stopping):
            self.calls += done.engine_calls
            self.models.loads += done.loads  # a replica's loads are this kernel's
            self.models.voice_preparations += done.voice_preparations
            for outcome in done.outcomes:
                if isinstance(outcome, Failed):
                    failure = failure or outcome.error
                    continue
                audio = self._commit(outcome, use_cache)
                yield outcome.job, audio, False
                for again in repeats.get(outcome.job.key or "", ()):  # made once, served to every repeat
                    self._finished(again, audio, cached=True, seconds=0.0)
                    yield again, audio, True
        if failure is not None:
            raise failure
        progress.check()

    def _commit(self, made: Made, use_cache: bool) -> Audio:
        audio = made.audio
        if not audio.words:  # estimated once, then cached with the audio (docs/words.md)
            audio = audio.with_words(estimated(made.job.request.text, audio))
        if self.cache is not None and made.job.key is not None:  # committed before anything else can fail;
            audio = self.cache.put(made.job.key, audio, replace=not use_cache)  # a new take asked for replaces
        self._finished(made.job, audio, cached=False, seconds=made.seconds)
        return audio

    def _finished(self, job: Job, audio: Audio, *, cached: bool, seconds: float) -> None:
        self.emit(SegmentFinished(job.index, job.segment.character, job.request.language, job.request.text,
                                  job.engine, cached, seconds, audio.duration))

