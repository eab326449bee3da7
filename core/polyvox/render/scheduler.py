"""The segment scheduler: look up the cache, run only the misses, commit each result the
moment it exists.

Sequential by default (parallel threads on one GPU were measured slower); threads only for
engines that declare themselves thread-safe; a batch path for engines that declare batch
synthesis. The executor is replaceable, so a process pool or a cluster can run the calls.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from polyvox.audio import Audio
from polyvox.cache.store import ContentCache
from polyvox.errors import Cancelled, PluginError, PolyvoxError, SegmentError
from polyvox.events import CancelToken, Event, SegmentFinished, SegmentStarted
from polyvox.plugin.registry import Plugins
from polyvox.render.batching import SharedBatches
from polyvox.render.fairlock import FairLock
from polyvox.render.models import LoadedModel, ModelManager
from polyvox.render.planner import Job

Work = Callable[[], list[tuple[Job, Audio]]]

#: Engines that are seeded but not thread-safe usually seed a global generator (torch's):
#: their calls run one at a time in the whole process, so two such engines rendering in two
#: threads cannot reseed each other mid-call (in arrival order, like the per-model locks).
_GLOBAL_RNG = FairLock()


class Executor(Protocol):
    """Runs units of work and yields their results as they complete."""

    def run(self, work: Iterable[Work]) -> Iterator[list[tuple[Job, Audio]]]: ...


class SequentialExecutor:
    def run(self, work: Iterable[Work]) -> Iterator[list[tuple[Job, Audio]]]:
        for unit in work:
            yield unit()


class ThreadExecutor:
    """Runs up to `workers` units at once, yielding in submission order."""

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, work: Iterable[Work]) -> Iterator[list[tuple[Job, Audio]]]:
        with ThreadPoolExecutor(self.workers) as pool:
            # each unit runs in the submitting render's context: its listeners and warnings
            futures = [pool.submit(contextvars.copy_context().run, unit) for unit in work]
            try:
                for future in futures:
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()


class Scheduler:
    def __init__(self, plugins: Plugins, models: ModelManager, cache: ContentCache | None,
                 emit: Callable[[Event], None]):
        self.plugins = plugins
        self.models = models
        self.cache = cache
        self.emit = emit
        self.calls = 0  # engine calls made (segments or batches), for tests and benchmarks
        #: Batches shared by concurrent renders (engines that batch, batch_size > 1).
        self.batches = SharedBatches()
        #: Runs the misses somewhere else (polyvox.distributed, e.g. a Ray cluster); None: here.
        self.remote: Any = None

    # -- public ------------------------------------------------------------------------
    def run(self, jobs: list[Job], *, ordered: bool, use_cache: bool = True, workers: int = 1,
            batch_size: int | None = 1, cancel: CancelToken | None = None,
            warn: Callable[[str, str], None] | None = None) -> Iterator[tuple[Job, Audio, bool]]:
        """Yield (job, audio, from_cache) for every speech job.

        `ordered`: script order, each job as soon as it is ready (streaming). Otherwise
        throughput order: misses grouped by model, so each model loads once and a model
        whose segments are all cached is never loaded. `batch_size` None: each engine's
        declared size for the device (`Capabilities.batch_size_for`).
        """
        if self.remote is not None:  # cache lookups and commits stay here; the calls go there
            yield from self.remote.run(self, jobs, ordered=ordered, use_cache=use_cache, batch_size=batch_size,
                                       cancel=cancel)
            return
        speech = [j for j in jobs if j.request is not None]
        total = len(speech)
        done = 0

        def check_cancel() -> None:
            if cancel is not None and cancel.cancelled:
                raise Cancelled(f"cancelled after {done} of {total} segments; finished segments are cached",
                                finished=done, total=total)

        if ordered:
            for job, audio, cached in self._in_order(speech, use_cache, batch_size, check_cancel):
                yield job, audio, cached
                done += 1
            return

        misses: list[Job] = []
        repeats: dict[str | None, list[Job]] = {}  # the same content again later in the script
        for job in speech:
            hit = self._lookup(job, use_cache)
            if hit is not None:
                done += 1
                yield job, hit, True
            elif job.key in repeats:
                repeats[job.key].append(job)
            else:
                repeats[job.key] = []
                misses.append(job)
        groups: dict[tuple[str, str, str], list[Job]] = {}
        for job in misses:
            groups.setdefault(job.model_key, []).append(job)
        for key, group in groups.items():
            check_cancel()
            spec = self.plugins.specs[key[0]]
            entry = self.models.get(*key, fingerprint=group[0].model_fingerprint)
            size = batch_size or spec.capabilities.batch_size_for(key[2])
            units = self._units(entry, group, spec.capabilities.batch, size, use_cache, check_cancel)
            parallel = workers > 1 and spec.capabilities.thread_safe
            if workers > 1 and not spec.capabilities.thread_safe and warn:
                warn("workers", f"engine {key[0]!r} is not thread-safe: running its segments one at a time")
            executor: Executor = ThreadExecutor(workers) if parallel else SequentialExecutor()
            for results in executor.run(units):
                for job, audio in results:
                    done += 1
                    yield job, audio, False
                    for again in repeats[job.key]:  # synthesized once, served to every repeat
                        self._finished(again, audio, cached=True, seconds=0.0)
                        done += 1
                        yield again, audio, True

    # -- internals ---------------------------------------------------------------------
    def _in_order(self, speech: list[Job], use_cache: bool, batch_size: int | None,
                  check_cancel: Callable[[], None]) -> Iterator[tuple[Job, Audio, bool]]:
        """Script order, each job as soon as it is ready. For an engine that batches, the
        next misses of the same model and voice are made together: the first alone (the
        first audio waits for nobody), then twice as many each time up to the batch size, so
        what is made ahead grows with what is already there to play."""
        ready: dict[int, tuple[Audio, bool]] = {}  # position -> audio made ahead
        failed: dict[int, SegmentError] = {}  # position -> why a segment made ahead failed
        window = 1
        for n, job in enumerate(speech):
            check_cancel()
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
                    entry = self.models.get(*job.model_key, fingerprint=job.model_fingerprint)
                    try:
                        made = self._unit(entry, [j for _, j in group], use_cache, check_cancel, size)()
                    except SegmentError as exc:
                        if exc.index == job.index:
                            raise
                        # a segment made ahead failed: the rest of its batch is cached, and this
                        # render meets the error at that segment's turn, after the audio before it
                        failed.update({m: exc for m, j in group if j.index == exc.index})
                        made = [(j, a) for _, j in group if (a := self._kept(j, use_cache)) is not None]
                    by_index = {j.index: a for j, a in made}
                    ready.update({m: (by_index[j.index], False) for m, j in group if j.index in by_index})
                    if n not in ready:  # made beside a failure with no cache to keep it: again, alone
                        ((_, audio),) = self._unit(entry, [job], use_cache, check_cancel)()
                        ready[n] = (audio, False)
            audio, cached = ready.pop(n)
            yield job, audio, cached

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
        hit = self._kept(job, use_cache)
        if hit is not None:
            self._finished(job, hit, cached=True, seconds=0.0)
        return hit

    def _kept(self, job: Job, use_cache: bool) -> Audio | None:
        """The cached audio of `job`, without an event (`_lookup` announces a hit; a segment
        this render just made was announced when it was made)."""
        if not use_cache or self.cache is None or job.key is None:
            return None
        return self.cache.get(job.key)

    def _units(self, entry: LoadedModel, group: list[Job], batch: bool, batch_size: int,
               use_cache: bool, check_cancel: Callable[[], None]) -> list[Work]:
        if not (batch and batch_size > 1):
            return [self._unit(entry, [j], use_cache, check_cancel) for j in group]
        by_voice: dict[str | None, list[Job]] = {}
        for job in group:
            by_voice.setdefault(job.voice_key, []).append(job)
        units = []
        for same_voice in by_voice.values():
            same_voice.sort(key=lambda j: len(j.request.text))  # limit padding
            for i in range(0, len(same_voice), batch_size):
                units.append(self._unit(entry, same_voice[i : i + batch_size], use_cache, check_cancel, batch_size))
        return units

    def _unit(self, entry: LoadedModel, jobs: list[Job], use_cache: bool,
              check_cancel: Callable[[], None] | None = None, batch_size: int = 1) -> Work:
        """One engine call (a segment or a batch). It checks for cancellation first, so a
        cancelled render stops after the calls in progress, with threads too. With a
        `batch_size` above 1 on an engine that batches, the call is shared with concurrent
        renders of the same model and voice (`polyvox.render.batching`)."""

        def work() -> list[tuple[Job, Audio]]:
            if check_cancel is not None:
                check_cancel()
            for job in jobs:
                self.emit(SegmentStarted(job.index, job.segment.character, job.request.language,
                                         job.request.text, job.engine))
            if batch_size > 1 and self.plugins.specs[jobs[0].engine].capabilities.batch:
                return self._shared(entry, jobs, batch_size, use_cache, check_cancel)
            start = time.perf_counter()
            try:
                out = self._call(entry, jobs)
            except Exception as exc:
                if len(jobs) > 1:  # find the segment that fails, keeping (and caching) the others
                    return [pair for job in jobs for pair in self._unit(entry, [job], use_cache)()]
                raise _segment_error(jobs[0], exc) from exc
            seconds = (time.perf_counter() - start) / len(jobs)
            return [self._commit(job, audio, use_cache, seconds) for job, audio in zip(jobs, out, strict=True)]

        return work

    def _shared(self, entry: LoadedModel, jobs: list[Job], batch_size: int, use_cache: bool,
                check_cancel: Callable[[], None] | None) -> list[tuple[Job, Audio]]:
        """`jobs` through the lane of their model and voice, each result committed here (in this
        render's scope and order); a failed shared batch is retried item by item, so only the
        render whose segment fails gets the error."""
        caps = self.plugins.specs[jobs[0].engine].capabilities
        items = self.batches.run((*entry.key, jobs[0].voice_key), jobs, batch_size,
                                 guard=lambda: _guard(entry, caps), call=lambda batch: self._call(entry, batch),
                                 check_cancel=check_cancel)
        results: list[tuple[Job, Audio]] = []
        failed: BaseException | None = None
        for item in items:
            if item.audio is not None:  # made: committed even if a neighbour failed
                results.append(self._commit(item.job, item.audio, use_cache, item.seconds))
            elif item.error is not None and failed is None:
                failed = _segment_error(item.job, item.error)
                failed.__cause__ = item.error
            elif item.retry and failed is None:
                try:
                    results += self._unit(entry, [item.job], use_cache)()
                except SegmentError as exc:
                    failed = exc
        if failed is not None:
            raise failed
        if any(item.dropped for item in items) and check_cancel is not None:
            check_cancel()  # raises Cancelled: what was made is committed (cached)
        return results

    def _call(self, entry: LoadedModel, jobs: list[Job]) -> list[Audio]:
        """The engine call itself, under the model's lock when the engine needs one."""
        engine = jobs[0].engine
        caps = self.plugins.specs[engine].capabilities
        hook = self.plugins.hook
        # Engines that are not thread-safe get one call at a time per model (voice
        # preparation included), even across renders running in different threads.
        with _guard(entry, caps):
            conditioning = self.models.conditioning(
                entry, jobs[0].voice_key,
                lambda: hook.prepare_voice(engine=engine, model=entry.model, voice=jobs[0].request.voice,
                                           params=dict(jobs[0].request.params)))
            self.calls += 1
            if len(jobs) == 1:
                out = [hook.synthesize_segment(engine=engine, model=entry.model, request=jobs[0].request,
                                               conditioning=conditioning)]
            else:
                out = hook.synthesize_batch(engine=engine, model=entry.model, requests=[j.request for j in jobs],
                                            conditioning=conditioning)
        _check_output(engine, out, len(jobs))
        return out

    def _commit(self, job: Job, audio: Audio, use_cache: bool, seconds: float) -> tuple[Job, Audio]:
        if self.cache is not None and job.key is not None:  # committed before anything else can fail;
            audio = self.cache.put(job.key, audio, replace=not use_cache)  # a new take asked for replaces
        self._finished(job, audio, cached=False, seconds=seconds)
        return job, audio

    def _finished(self, job: Job, audio: Audio, *, cached: bool, seconds: float) -> None:
        self.emit(SegmentFinished(job.index, job.segment.character, job.request.language, job.request.text,
                                  job.engine, cached, seconds, audio.duration))


@contextlib.contextmanager
def _guard(entry: LoadedModel, caps: Any) -> Iterator[None]:
    """One call at a time per model for engines that are not thread-safe; seeded ones also
    one at a time in the process (see `_GLOBAL_RNG`). Both re-entrant, in arrival order."""
    rng = _GLOBAL_RNG if caps.seeded and not caps.thread_safe else contextlib.nullcontext()
    lock = contextlib.nullcontext() if caps.thread_safe else entry.lock
    with rng, lock:
        yield


def _check_output(engine: str, out: Any, expected: int) -> None:
    if not isinstance(out, list) or len(out) != expected:
        raise PluginError(f"engine {engine!r} returned {type(out).__name__} instead of {expected} Audio")
    for audio in out:
        if not isinstance(audio, Audio):
            raise PluginError(f"engine {engine!r} returned {type(audio).__name__} instead of Audio")
        if not np.all(np.isfinite(audio.samples)):
            raise PluginError(f"engine {engine!r} returned audio with NaN or infinite samples")


def _segment_error(job: Job, exc: BaseException) -> SegmentError:
    text = job.request.text
    excerpt = text if len(text) <= 40 else text[:37] + "..."
    who = job.segment.character or "narrator"
    message = str(exc) if isinstance(exc, PolyvoxError) else f"{type(exc).__name__}: {exc}"
    return SegmentError(f"segment {job.index} ({who}: {excerpt!r}) failed in engine {job.engine!r}: {message}",
                        index=job.index, character=job.segment.character, text=text)
