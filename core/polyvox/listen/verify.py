"""Verify and retake: every take of a render is heard beside synthesis, a take that fails is
made again with another seed (up to `retakes` times), the best take is kept, and every take's
verdict goes into the cache with it.

    scheduler ──(job, take)──► listener thread ──verdict──► pass: out, in script order
                     ▲                                   └─► fail: retake (new seed) ──┘

The render thread keeps synthesizing the next segments while the listener thread hears the
last one; a retake is made on the render thread between them. The pipeline is bounded: at most
`AHEAD` takes wait to be heard (the one being heard included; a batch more where the engine
makes its segments in batches), so the engine runs ahead of the listener by that much and no
further (memory stays flat on a long book, and a listener that fails stops the render soon).
The takes are made in script order (`Orchestrator._made` with `in_order`), so the listener is
fed from the first segment on. A synthesis that fails does not lose the takes made before it:
their verdicts are taken in, recorded and their audio handed on, in order, before the error.
A segment whose takes were heard before (a record in the cache) is neither synthesized nor heard
again (`settle`). A listener that hears on the CPU holds its share of the cores
(`polyvox.cores`) from its first hearing to the render's end, so an engine that sizes its
threads by them leaves it a core rather than take turns with it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import attrs
import numpy as np

from polyvox import cores
from polyvox.audio import Audio
from polyvox.cache.backend import CacheBackend
from polyvox.errors import Cancelled, PolyvoxError
from polyvox.events import Event, SegmentFinished, SegmentHeard, SegmentRetaken
from polyvox.listen import takes
from polyvox.listen.heard import Heard
from polyvox.listen.heardwords import keep, untimed, with_heard
from polyvox.listen.hearing import Hearing, label
from polyvox.listen.report import SegmentVerdict, VerifyOptions, VerifyReport
from polyvox.listen.takes import Record, Take
from polyvox.listen.verdict import Verdict, judge, score
from polyvox.render.planner import Job

Made = tuple[Job, Audio, bool]  # (job, audio, from the cache)

#: Takes made and not yet heard, at most (the one being heard included): the listener hears
#: segment N while the engine makes N+1, and the engine waits rather than run further ahead.
AHEAD = 2


class VerifyError(PolyvoxError):
    """Segments still failed verification after their retakes (with ``strict``)."""


def retake_job(job: Job, seed: int) -> Job:
    """`job` made with `seed`: its request's seed, and the take's own cache key."""
    assert job.request is not None and job.key is not None
    key = takes.take_key(job.key, job.request.seed, seed)
    return attrs.evolve(job, request=attrs.evolve(job.request, seed=seed), key=key)


class _Segment:
    """One segment's takes while the render runs."""

    def __init__(self, job: Job, prior: tuple[Take, ...] = ()):
        self.job = job
        self.takes: list[Take] = list(prior)
        self.made: dict[int, Made] = {}  # seed -> take made (or read) in this render
        self.pending: Future[Verdict] | None = None
        self.current: Made | None = None
        self.heard = 0
        self.retaken = 0
        self.words: dict[int, Heard] = {}  # seed -> what the listener heard of that take (its word times)
        self.final: Made | None = None
        self.chosen = 0


class Verifier:
    """One render's verification (built by the orchestrator when `verify` is asked)."""

    def __init__(self, hearing: Hearing, options: VerifyOptions, cache: CacheBackend | None, use_cache: bool,
                 retake: Callable[[Job], Made], emit: Callable[[Event], None],
                 warn: Callable[..., None], seeded: Callable[[str], bool]):
        self.spec, self.model = hearing.resolve(options.listener)
        self.label = label(self.spec, self.model)
        self.hearing = hearing
        self.options = options
        self.cache = cache if use_cache else None
        self._store = cache.store if cache is not None else None
        self._retake = retake
        self._emit = emit
        self._warn = warn
        self._seeded = seeded
        self._segments: dict[int, _Segment] = {}
        self._order: list[int] = []
        self.ahead = AHEAD
        #: A synthesis that failed: the verdicts of what was made are taken in (no more retakes),
        #: then it is raised.
        self._failure: Exception | None = None
        #: The cores the listener holds while it hears on the CPU (taken at its first hearing).
        self._cores = contextlib.ExitStack()
        self._placed = False

    # -- before synthesis -----------------------------------------------------------------
    def settle(self, jobs: list[Job]) -> set[int]:
        """The indices of `jobs` the scheduler need not make: segments whose chosen take is known
        from the cache (neither synthesized nor heard again; those that still failed too, unless
        `retake_failed`), and with `retake_failed` the failing ones, which go straight to a
        retake whose seed follows the earlier takes' (their verdicts count towards the best)."""
        skip = set()
        self._resumed: list[_Segment] = []
        for job in jobs:
            if job.request is None:
                continue
            self._order.append(job.index)
            record = self._record(job)
            segment = _Segment(job, record.takes if record is not None else ())
            self._segments[job.index] = segment
            if record is None:
                continue
            chosen = record.take
            if self.options.retake_failed and not chosen.verdict.passed and self.options.retakes > 0:
                self._resumed.append(segment)
                skip.add(job.index)
                continue
            audio = self.cache.get(chosen.key) if self.cache is not None else None
            if audio is None:  # evicted: made and heard again
                segment.takes.clear()
                continue
            segment.final, segment.chosen = (job, audio, True), record.chosen
            skip.add(job.index)
            self._emit(SegmentFinished(job.index, job.segment.character, job.request.language, job.request.text,
                                       job.engine or "", True, 0.0, audio.duration))
        return skip

    def _record(self, job: Job) -> Record | None:
        if self.cache is None or self._store is None or job.key is None or job.request is None:
            return None
        record = takes.read(self._store, job.key, job.request.seed, self.label)
        if record is None:
            return None
        rejudged = tuple(attrs.evolve(t, verdict=t.verdict.rejudged(self.options.max_wer)) for t in record.takes)
        return Record(rejudged, record.chosen)

    # -- while synthesis runs ----------------------------------------------------------
    def run(self, made: Iterator[Made], strict: bool = False) -> Iterator[Made]:
        """Every speech segment's kept take, in script order: the settled ones as they are,
        the others once heard (and retaken where they fail)."""
        pool = ThreadPoolExecutor(1, thread_name_prefix="polyvox-listener")
        self._pool = pool
        position = 0
        made = iter(made)
        try:
            for segment in self._resumed:  # failures of an earlier run: straight to a new take
                position = yield from self._room(position, strict)
                if self._failure is None:
                    self._retake_segment(segment, segment.takes[-1].verdict.flags if segment.takes else ())
            while self._failure is None:
                position = yield from self._room(position, strict)
                if self._failure is not None:
                    break
                try:
                    item = next(made, None)
                except Cancelled:
                    raise
                except Exception as exc:
                    self._failure = exc
                    break
                if item is None:
                    break
                self._hear(self._segments[item[0].index], item)
                self._advance(block=False)
                position, ready = self._ready(position, strict)
                yield from ready
            while self._waiting():  # the last verdicts (after a failure: without retakes)
                self._advance(block=True)
                position, ready = self._ready(position, strict and self._failure is None)
                yield from ready
            if self._failure is not None:  # what was made before it is handed on, then the error
                raise self._failure
            position, ready = self._ready(position, strict)
            yield from ready
            if position != len(self._order):
                raise PolyvoxError(f"segment {self._order[position]} was never made (internal error)")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._cores.close()

    def _room(self, position: int, strict: bool) -> Generator[Made, None, int]:
        """Wait until fewer than `ahead` takes wait to be heard (the engine waits for the
        listener), taking in the verdicts and handing on what is ready; returns the position."""
        while self._waiting() >= self.ahead and self._failure is None:
            self._advance(block=True)
            position, ready = self._ready(position, strict)
            yield from ready
        return position

    def _waiting(self) -> int:
        """Takes made whose verdict is not taken in yet."""
        return sum(s.pending is not None for s in self._segments.values())

    def _check(self) -> None:
        """With `strict`: segments that still fail are an error, raised before the last segment is
        handed on (so no output is completed from them)."""
        failing = [s for s in self.report().segments if not s.passed]
        if failing:
            worst = "; ".join(f"{s.index} ({', '.join(s.verdict.flags)}; heard {s.verdict.heard.strip()!r})"
                              for s in failing[:3])
            more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
            raise VerifyError(f"{len(failing)} segment(s) still fail verification after their retakes: "
                              f"{worst}{more}; their takes are cached: retake_failed=True (the CLI's "
                              "--retake-failed) with more retakes tries again")

    def _hear(self, segment: _Segment, made: Made) -> None:
        job, audio, _ = made
        assert job.request is not None
        segment.made[job.request.seed] = made
        segment.current = made
        language = job.request.language
        hint = None if self.spec.multilingual(self.model) or not self.spec.hears(self.model, language) else language
        context = contextvars.copy_context()  # the listener's model loading is this render's event
        segment.pending = self._pool.submit(context.run, self._judge, job, audio, hint)

    def _judge(self, job: Job, audio: Audio, hint: str | None) -> Verdict:
        assert job.request is not None
        heard = self.hearing.hear_with(self.spec, self.model, audio, hint)
        if not self._placed:  # the listener's model is loaded now: where does it run?
            self._placed = True
            if self.hearing.runs_on(self.spec, self.model) == "cpu":
                self._cores.enter_context(cores.held(cores.listener_share()))
        self._segments[job.index].words[job.request.seed] = heard
        language = job.request.language
        hears = self.spec.hears(self.model, language)
        if not hears:
            self._warn("verify", f"listener {self.label} does not hear {language!r}: those segments are checked for "
                       "their audio only (a multilingual model such as whisper:small hears their words)",
                       key=f"verify-language:{language}")
        return judge(job.request.text, heard, audio, language=language, max_wer=self.options.max_wer,
                     hears_language=hears, multilingual=self.spec.multilingual(self.model), listener=self.label)

    def _advance(self, block: bool) -> None:
        """Take in the verdicts that are ready (with `block`, wait for at least one): keep a
        passing take, retake a failing one while tries are left, else keep the best."""
        pending = {s.pending: s for s in self._segments.values() if s.pending is not None}
        if not pending:
            return
        if block:
            wait(list(pending), return_when=FIRST_COMPLETED)
        for future, segment in pending.items():
            if future.done():
                segment.pending = None
                self._judged(segment, future.result())

    def _judged(self, segment: _Segment, verdict: Verdict) -> None:
        assert segment.current is not None
        job = segment.current[0]
        assert job.request is not None
        segment.takes.append(Take(job.request.seed, job.key or "", verdict))
        segment.heard += 1
        number = len(segment.takes) - 1
        self._emit(SegmentHeard(job.index, job.request.text, verdict.heard, verdict.wer, verdict.flags,
                                verdict.passed, number, job.request.seed, self.label))
        if verdict.passed or segment.retaken >= self.options.retakes or self._failure is not None:
            self._finish(segment)
            return
        if _repeated(segment, job.request.seed):  # a deterministic engine (hibari): another seed, the same take
            self._warn("verify", f"engine {job.engine!r} made the same audio with another seed: its failing "
                       "segments are not retaken again", key=f"verify-repeats:{job.engine}")
            self._finish(segment)
            return
        self._retake_segment(segment, verdict.flags)

    def _retake_segment(self, segment: _Segment, why: tuple[str, ...]) -> None:
        """Make the segment again with the seed after every seed tried, and hear it."""
        job = segment.job
        assert job.request is not None
        if not self._seeded(job.engine or ""):
            self._warn("verify", f"engine {job.engine!r} takes no seed: its retakes may sound like the take "
                       "before and cannot be made again from a seed", key=f"verify-unseeded:{job.engine}")
        seed = (max((t.seed for t in segment.takes), default=job.request.seed) + 1) % 2**32
        segment.retaken += 1
        self._emit(SegmentRetaken(job.index, job.request.text, len(segment.takes), seed, tuple(why)))
        try:
            made = self._retake(retake_job(job, seed))
        except Cancelled:
            raise
        except Exception as exc:  # the render ends with it, after what was made before (`run`)
            self._failure = exc
            self._finish(segment)
            return
        self._hear(segment, made)

    def _finish(self, segment: _Segment) -> None:
        """Keep the best take whose audio is at hand, and record every take in the cache."""
        ranked = sorted(range(len(segment.takes)), key=lambda i: score(segment.takes[i].verdict))
        for i in ranked:
            take = segment.takes[i]
            made = segment.made.get(take.seed)
            if made is None and self.cache is not None:  # an earlier run's take (--retake-failed)
                audio = self.cache.get(take.key)
                made = (retake_job(segment.job, take.seed), audio, True) if audio is not None else None
            if made is not None:  # handed on as the segment's own job (placement knows it by identity)
                segment.final, segment.chosen = (segment.job, self._timed(segment, take, made[1]), made[2]), i
                break
        if self._store is not None and segment.job.key is not None and segment.job.request is not None:
            takes.write(self._store, segment.job.key, self.label, Record(tuple(segment.takes), segment.chosen))

    def _timed(self, segment: _Segment, take: Take, audio: Audio) -> Audio:
        """The kept take with the word times its hearing gave, where the engine gave none (and
        the cache entry written again with them)."""
        heard = segment.words.get(take.seed)
        if heard is None or segment.job.request is None or not untimed(audio):
            return audio
        return keep(self.cache, take.key or None, audio, with_heard(audio, segment.job.request.text, heard))

    def _ready(self, position: int, strict: bool = False) -> tuple[int, list[Made]]:
        """The kept takes from `position` on that are final, in script order."""
        out = []
        while position < len(self._order) and (segment := self._segments[self._order[position]]).final:
            out.append(segment.final)
            position += 1
        if strict and out and position == len(self._order):
            self._check()
        return position, out

    # -- after --------------------------------------------------------------------------
    def report(self) -> VerifyReport:
        done = [self._segments[i] for i in self._order if self._segments[i].final is not None]
        return VerifyReport(self.label, tuple(
            SegmentVerdict(s.job.index, s.job.request.text if s.job.request else "", tuple(s.takes), s.chosen,
                           s.heard, s.retaken) for s in done))


def _repeated(segment: _Segment, seed: int) -> bool:
    """Whether the take made with `seed` is sample for sample a take made before it."""
    made = segment.made.get(seed)
    if made is None:
        return False
    audio = made[1]
    return any(other is not made and len(other[1].samples) == len(audio.samples)
               and np.array_equal(other[1].samples, audio.samples) for other in segment.made.values())


def for_render(renderer: Any, options: Any, jobs: list[Job], made: Callable[[list[Job]], Iterator[Made]],
               batch: int = 1) -> tuple[Verifier, Iterator[Made]]:
    """A render's verifier, and its kept takes in script order: `made(jobs)` runs the jobs that
    the cache does not settle through the scheduler, retakes run one at a time beside them.
    `batch`: the most segments one engine call makes; the engine may run that many takes
    further ahead, so the listener has the next take while the engine makes a whole batch."""

    def retake(job: Job) -> Made:
        (one,) = list(renderer.scheduler.run([job], ordered=True, use_cache=options.use_cache, batch_size=1,
                                             cancel=options.cancel))
        return one

    verifier = Verifier(renderer.hearing, options.verify, renderer.cache, options.use_cache, retake,
                        renderer.events.emit, renderer.warn,
                        seeded=lambda engine: renderer.plugins.specs[engine].capabilities.seeded)
    verifier.ahead = AHEAD + max(1, batch) - 1
    skip = verifier.settle([j for j in jobs if j.request is not None])
    strict = options.strict if options.verify.strict is None else options.verify.strict
    return verifier, verifier.run(made([j for j in jobs if j.index not in skip]), strict=strict)


__all__ = ["VerifyError", "Verifier", "for_render", "retake_job"]
