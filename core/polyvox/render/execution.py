"""Where a render's engine calls run: the executor seam.

The scheduler (polyvox.render.scheduler) owns the cache. It looks every segment up first, so
an executor is only ever handed misses; and it commits every segment an executor hands back
the moment it arrives (then announces it), so a failure later loses nothing that was made.
An executor decides only where and when the calls run.

- **What an executor is handed:** `Call`s, each the jobs of one engine call (one segment, or a
  batch of one model and voice), with all a call needs to run anywhere: the requests, the
  model key and fingerprint, the voice key, the engine's declaration and the plugins to load
  by name. `Call.make()` makes it in this process; `Call.started()` announces a call that is
  made elsewhere.
- **What it returns:** a `Done` for each call, as calls complete, in any order: one `Outcome`
  per job, `Made` (the audio) or `Failed` (the error to raise), and what making it cost where
  it ran. An executor never raises for a segment's fault; it reports it and goes on.
- **Stopping:** the executor takes calls from the iterable as it is ready for them; the
  iterable ends early when a segment has failed or the render is cancelled (`stopping()`
  then says so). The executor then hands over the calls already under way -- as long as it
  cares to wait for them -- and returns; the scheduler commits them and raises.

Three executors implement it: `SequentialExecutor` (one call after another, in this process),
`ThreadExecutor` (the render's ``workers``, for engines that are thread-safe) and
`polyvox.distributed.RayExecutor` (engine replicas on a Ray cluster). See docs/executors.md.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

import attrs
import numpy as np

from polyvox.audio import Audio
from polyvox.errors import PluginError, PolyvoxError, SegmentError
from polyvox.plugin.spec import Capabilities, EngineSpec
from polyvox.render.fairlock import FairLock
from polyvox.render.models import LoadedModel, ModelKey, ModelManager
from polyvox.render.planner import Job
from polyvox.text.segment import Request
from polyvox.words.timing import WordTime

#: Engines that are seeded but not thread-safe usually seed a global generator (torch's):
#: their calls run one at a time in the whole process, so two such engines rendering in two
#: threads cannot reseed each other mid-call (in arrival order, like the per-model locks).
_GLOBAL_RNG = FairLock()


@attrs.frozen
class Made:
    """A segment made: its audio, and the engine seconds it took (a batch's shared out)."""

    job: Job
    audio: Audio
    seconds: float


@attrs.frozen
class Failed:
    """A segment not made: the one-line error the render raises (a `SegmentError` naming the
    segment, or why its call was lost)."""

    job: Job
    error: PolyvoxError


Outcome = Made | Failed


@attrs.frozen
class Done:
    """A call's outcomes, one per job (a job without one was dropped: its render was cancelled
    while it waited). The counts are what making it cost elsewhere (a replica), added to the
    kernel's; a call made in this process counts itself."""

    outcomes: tuple[Outcome, ...]
    engine_calls: int = 0
    loads: int = 0
    voice_preparations: int = 0


@attrs.frozen(eq=False)
class Call:
    """One engine call a render needs: the jobs of one model and voice."""

    jobs: tuple[Job, ...]
    spec: EngineSpec
    #: The plugin that declares the engine, and every plugin a process loads by name to make
    #: this call as this kernel would (built in, by entry point, or in its own environment).
    plugin: str | None
    plugins: tuple[str, ...]
    #: Makes the call in this process (`SegmentStarted` included).
    make: Callable[[], Done]
    #: Announces the call (`SegmentStarted` for each job) where it is made elsewhere.
    started: Callable[[], None]

    @property
    def model_key(self) -> ModelKey:
        return self.jobs[0].model_key

    @property
    def voice_key(self) -> str | None:
        return self.jobs[0].voice_key

    @property
    def fingerprint(self) -> str | None:
        """The model content the render was planned with (a process holding older files reloads)."""
        return self.jobs[0].model_fingerprint

    @property
    def requests(self) -> list[Request]:
        return [job.request for job in self.jobs]


class Executor(Protocol):
    """Runs calls and yields each one's `Done` as it completes (see the module's docstring)."""

    #: Segments per call for engines that batch, or None: the render's own batch size.
    batch_size: int | None

    def run(self, calls: Iterable[Call], stopping: Callable[[], bool]) -> Iterator[Done]: ...


class SequentialExecutor:
    """One call after another, in this process."""

    batch_size: int | None = None

    def run(self, calls: Iterable[Call], stopping: Callable[[], bool]) -> Iterator[Done]:
        for call in calls:
            yield call.make()


class ThreadExecutor:
    """Up to `workers` calls at once in this process, each yielded as it completes."""

    batch_size: int | None = None

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, calls: Iterable[Call], stopping: Callable[[], bool]) -> Iterator[Done]:
        pending = iter(calls)
        flight: set[Future[Done]] = set()
        with ThreadPoolExecutor(self.workers) as pool:
            try:
                while True:
                    while len(flight) < self.workers and (call := next(pending, None)) is not None:
                        # each call runs in the submitting render's context: its listeners and warnings
                        flight.add(pool.submit(contextvars.copy_context().run, call.make))
                    if not flight:
                        return
                    finished, flight = wait(flight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield future.result()
            finally:
                for future in flight:
                    future.cancel()


# -- one engine call, wherever it is made --------------------------------------------------------

@contextlib.contextmanager
def guard(entry: LoadedModel, caps: Capabilities) -> Iterator[None]:
    """One call at a time per model for engines that are not thread-safe; seeded ones also
    one at a time in the process (see `_GLOBAL_RNG`). Both re-entrant, in arrival order."""
    rng = _GLOBAL_RNG if caps.seeded and not caps.thread_safe else contextlib.nullcontext()
    lock = contextlib.nullcontext() if caps.thread_safe else entry.lock
    with rng, lock:
        yield


def engine_call(hook: Any, models: ModelManager, entry: LoadedModel, caps: Capabilities, voice_key: str | None,
                requests: Sequence[Request]) -> list[Audio]:
    """Synthesize `requests` (one model and voice) on the loaded model `entry`: the voice's
    conditioning prepared once, one segment or one batch, under the model's `guard`, and the
    engine's answer checked. The scheduler and the Ray replicas both call engines through here."""
    engine = entry.key[0]
    first = requests[0]
    with guard(entry, caps):
        conditioning = models.conditioning(
            entry, voice_key or "",
            lambda: hook.prepare_voice(engine=engine, model=entry.model, voice=first.voice, params=dict(first.params)))
        if len(requests) == 1:
            out = [hook.synthesize_segment(engine=engine, model=entry.model, request=first, conditioning=conditioning)]
        else:
            out = hook.synthesize_batch(engine=engine, model=entry.model, requests=list(requests),
                                        conditioning=conditioning)
    check_output(engine, out, len(requests))
    return out


#: The highest sample an engine may return: a little over full scale is an engine's overshoot
#: (the limiter or the file's clipping takes it); more is audio scaled wrong.
LOUDEST = 4.0


def check_output(engine: str, out: Any, expected: int) -> None:
    """`out` is `expected` finite `Audio`, or the engine broke its contract (`PluginError`)."""
    if not isinstance(out, list) or len(out) != expected:
        raise PluginError(f"engine {engine!r} returned {type(out).__name__} instead of {expected} Audio")
    for audio in out:
        if not isinstance(audio, Audio):
            hint = (": does its synthesize_segment carry @hookimpl? (a hook without it is never called, and "
                    "nothing answers)") if audio is None else ""
            raise PluginError(f"engine {engine!r} returned {type(audio).__name__} instead of Audio{hint}")
        if audio.samples.size:  # the highest and lowest sample: NaN and infinity carry through both
            peak = max(float(audio.samples.max()), -float(audio.samples.min()))
            if not np.isfinite(peak):
                raise PluginError(f"engine {engine!r} returned audio with NaN or infinite samples")
            if peak > LOUDEST:
                raise PluginError(f"engine {engine!r} returned samples up to {peak:g}, where full scale is 1.0 "
                                  "(integer PCM given as float? give int16 as it is, or divide by 32768)")
        wrong = next((w for w in audio.words if not isinstance(w, WordTime)), None)
        if wrong is not None:
            raise PluginError(f"engine {engine!r} returned a word time as {type(wrong).__name__} ({wrong!r:.60}): "
                              "give polyvox.WordTime(word, start, end)")


def segment_error(job: Job, exc: BaseException) -> SegmentError:
    """The one-line error of `job` failing with `exc`: the segment, who speaks, the engine and why."""
    text = job.request.text
    excerpt = text if len(text) <= 40 else text[:37] + "..."
    who = job.segment.character or "narrator"
    message = str(exc) if isinstance(exc, PolyvoxError) else f"{type(exc).__name__}: {exc}"
    message = " ".join(message.split())  # one line, whatever the engine's message held
    error = SegmentError(f"segment {job.index} ({who}: {excerpt!r}) failed in engine {job.engine!r}: {message}",
                         index=job.index, character=job.segment.character, text=text)
    error.__cause__ = exc
    return error
