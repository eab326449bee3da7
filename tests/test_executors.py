"""The executor seam (polyvox.render.execution): an executor is handed only a render's misses,
as calls, and hands back outcomes; the scheduler looks up and fills the cache. In-process,
threaded and custom executors are the same protocol (the Ray one: tests/test_ray_executor.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pytest

import polyvox
from polyvox.render.execution import Call, Done, Failed, SequentialExecutor, ThreadExecutor

LINES = "\n".join(f"Line number {n} is spoken here." for n in range(6))


class Recorder:
    """Makes calls in this process, one after another, and keeps what it was handed."""

    batch_size: int | None = None

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def run(self, calls: Iterable[Call], stopping: Callable[[], bool]) -> Iterator[Done]:
        for call in calls:
            self.calls.append(call)
            yield call.make()


def _kernel(tmp_path, executor=None) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["template"], executor=executor)


def test_an_executor_is_handed_only_misses_and_the_scheduler_fills_the_cache(tmp_path):
    recorder = Recorder()
    kernel = _kernel(tmp_path, recorder)
    first = kernel.render(LINES, engine="template")
    assert [len(c.jobs) for c in recorder.calls] == [1] * 6 and first.stats.synthesized == 6
    assert recorder.calls[0].plugin == "template" and "template" in recorder.calls[0].plugins
    # the executor never saw the cache, yet every segment it made is in it
    plan = kernel.plan(LINES, engine="template")
    assert all(kernel.cache.get(job.key) is not None for job in plan)
    recorder.calls.clear()
    again = kernel.render(LINES + "\nOne more line.", engine="template")
    assert [c.jobs[0].request.text for c in recorder.calls] == ["One more line."]
    assert (again.stats.cached, again.stats.synthesized) == (6, 1)


@pytest.mark.parametrize("executor", [SequentialExecutor(), ThreadExecutor(3), Recorder()],
                         ids=["sequential", "threads", "custom"])
def test_every_executor_renders_what_the_in_process_scheduler_renders(tmp_path, executor):
    reference = _kernel(tmp_path / "here").render(LINES, engine="template").audio
    made = _kernel(tmp_path / "there", executor).render(LINES, engine="template").audio
    streamed = polyvox.Audio.concatenate(list(_kernel(tmp_path / "stream", executor).stream(LINES,
                                                                                              engine="template")))
    assert len(reference) > 16000
    assert np.array_equal(made.samples, reference.samples) and np.array_equal(streamed.samples, reference.samples)


class FailsFirst:
    """Takes two calls at once; reports the first as failed and makes the second, then asks
    for more -- which a stopping render no longer gives."""

    batch_size: int | None = None

    def __init__(self) -> None:
        self.taken: list[Call] = []
        self.stopping_seen: list[bool] = []

    def run(self, calls: Iterable[Call], stopping: Callable[[], bool]) -> Iterator[Done]:
        pending = iter(calls)
        first, second = next(pending), next(pending)
        self.taken += [first, second]
        error = polyvox.SegmentError("segment 0 failed on purpose", index=0, character=None, text="")
        yield Done((Failed(first.jobs[0], error),))
        self.stopping_seen.append(stopping())
        yield second.make()  # under way when the first failed: still committed
        self.taken += list(pending)


def test_a_failure_stops_new_calls_and_is_raised_after_the_calls_under_way_are_committed(tmp_path):
    executor = FailsFirst()
    kernel = _kernel(tmp_path, executor)
    with pytest.raises(polyvox.SegmentError, match="^segment 0 failed on purpose$"):
        kernel.render(LINES, engine="template")
    assert executor.stopping_seen == [True]
    assert len(executor.taken) == 2  # no call was handed over after the failure
    plan = kernel.plan(LINES, engine="template")
    assert kernel.cache.get(plan[0].key) is None and kernel.cache.get(plan[1].key) is not None


def test_a_cancelled_render_stops_handing_out_calls(tmp_path):
    token = polyvox.CancelToken()
    recorder = Recorder()

    def cancel_after_two(event) -> None:
        if isinstance(event, polyvox.events.SegmentFinished) and event.index == 1:
            token.cancel()

    kernel = _kernel(tmp_path, recorder)
    with pytest.raises(polyvox.Cancelled) as caught:
        kernel.render(LINES, engine="template", cancel=token, on_event=cancel_after_two)
    assert (caught.value.finished, caught.value.total) == (2, 6) and len(recorder.calls) == 2


def test_an_object_that_is_not_an_executor_is_refused(tmp_path):
    class RunOnly:
        def run(self, calls, stopping):
            return iter(())

    with pytest.raises(polyvox.ParameterError, match=r"is not valid: expected one of sequential, ray or an "
                                                     r"Executor \(run\(calls, stopping\) and batch_size"):
        _kernel(tmp_path, RunOnly())
