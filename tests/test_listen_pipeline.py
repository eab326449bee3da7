"""render --verify as a pipeline: the listener hears segment N while the engine makes N+1, the
engine runs at most `AHEAD` takes ahead, and a synthesis that fails part-way loses none of the
takes made before it. Real speech (Piper's voice) heard by the real listener (whisper tiny.en).

The orderings are recorded in one log, never measured in seconds: where the test needs the two
sides at a given point, one side waits for the other on an event (the timeouts only break the
deadlock a broken pipeline would cause; a working one never waits them out, except where noted).
"""

from __future__ import annotations

import threading
from typing import Any

import attrs
import numpy as np
import pytest
from listenkit import QUIET, Recorder, Sloppy

import polyvox
from polyvox.listen import verify

LINES = ["The old man walked slowly to the river bank.",
         "My sister bought seven red apples at the market.",
         "We sat by the fire and told long stories.",
         "The children played in the garden all afternoon."]
#: A broken pipeline would wait this long for the other side (never reached by a working one).
DEADLOCK = 30.0


class Logged(Sloppy):
    """Sloppy that writes its synthesis into a shared ordered log, waits where the test says, and
    fails on a line that asks it to."""

    name = "logged"

    def __init__(self, log: list[tuple[str, int]], lock: threading.Lock) -> None:
        super().__init__()
        self.order, self.order_lock = log, lock
        self.before: dict[int, Any] = {}  # segment -> called (in the render thread) before it is made

    def synthesize(self, model: Any, request: polyvox.Request, conditioning: Any) -> polyvox.Audio:
        index = LINES.index(request.text) if request.text in LINES else len(LINES)
        with self.order_lock:
            self.order.append(("synth-start", index))
        if index in self.before:
            self.before[index]()
        if "fail here" in request.text:
            raise polyvox.PolyvoxError("logged cannot say that")
        try:
            return super().synthesize(model, request, conditioning)
        finally:
            with self.order_lock:
                self.order.append(("synth-end", index))


def _kernel(tmp_path: Any, log: list[tuple[str, int]], lock: threading.Lock,
            during_hearing: Any = None) -> tuple[polyvox.Kernel, Logged]:
    """A kernel whose engine and listener both write into `log`; `during_hearing(n)` runs while
    the n-th take (from 0) is being heard."""
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    engine = Logged(log, lock)
    kernel.register(engine)
    kernel.listen(polyvox.Audio(np.zeros(16000, np.float32), 16000))  # the listener's model is loaded first
    hear, count = kernel.hearing.hear_with, [0]

    def logged(*args: Any, **kwargs: Any) -> polyvox.Heard:
        n, count[0] = count[0], count[0] + 1
        with lock:
            log.append(("hear-start", n))
        if during_hearing is not None:
            during_hearing(n)
        try:
            return hear(*args, **kwargs)
        finally:
            with lock:
                log.append(("hear-end", n))

    kernel.hearing.hear_with = logged  # type: ignore[method-assign]
    return kernel, engine


def test_a_take_is_heard_while_the_next_is_made_and_the_engine_runs_at_most_two_ahead(tmp_path) -> None:
    """Hearing take 0 waits for the engine to start segment 1, and segment 1 waits for hearing of
    take 0 to start: both go on only if listening runs beside synthesis (one after the other,
    each would wait for the other in vain). Then, still hearing take 0, the listener gives the
    engine a few seconds to start segment 2, which a bounded pipeline never does: the engine
    waits for take 0's verdict (the one place a working pipeline sits out a timeout)."""
    log: list[tuple[str, int]] = []
    lock = threading.Lock()
    hearing_0, making_1, making_2 = threading.Event(), threading.Event(), threading.Event()

    def during_hearing(n: int) -> None:
        if n == 0:
            hearing_0.set()
            making_1.wait(DEADLOCK)
            making_2.wait(5.0)

    kernel, engine = _kernel(tmp_path, log, lock, during_hearing)
    engine.before = {1: lambda: (making_1.set(), hearing_0.wait(DEADLOCK)), 2: making_2.set}
    result = kernel.render("\n".join(LINES), engine="logged", params=QUIET,
                           verify=polyvox.VerifyOptions(retakes=0))
    assert result.verification.heard == 4 and [s.index for s in result.verification.segments] == [0, 1, 2, 3]
    at = log.index
    # overlapped: segment 1 was made while take 0 was heard
    assert at(("synth-start", 1)) < at(("hear-end", 0)) and at(("hear-start", 0)) < at(("synth-end", 1)), log
    # bounded: nothing after segment 1 was started before take 0's verdict (AHEAD takes waiting)
    started = [i for kind, i in log[:at(("hear-end", 0))] if kind == "synth-start"]
    assert started == list(range(verify.AHEAD)), log


class Batched(Logged):
    """Logged, declaring batches of two (made one after the other)."""

    name = "batched"

    def spec(self) -> polyvox.EngineSpec:
        spec = super().spec()
        caps = attrs.evolve(spec.capabilities, batch=True, batch_sizes={"cpu": 2, "auto": 2})
        return attrs.evolve(spec, name=self.name, capabilities=caps)

    def synthesize_many(self, model: Any, requests: list[polyvox.Request], conditioning: Any) -> list[polyvox.Audio]:
        return [self.synthesize(model, r, conditioning) for r in requests]


def test_a_batching_engine_makes_verified_takes_in_script_order_so_the_listener_starts_at_once(tmp_path) -> None:
    """A plain render batches by length, which would make this script's first (and longest)
    line last; verified, the takes are made in script order, so the listener hears the first
    while the engine makes the rest, instead of waiting for them all."""
    log: list[tuple[str, int]] = []
    lock = threading.Lock()
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    engine = Batched(log, lock)
    kernel.register(engine)
    kernel.listen(polyvox.Audio(np.zeros(16000, np.float32), 16000))  # the listener's model first
    hear = kernel.hearing.hear_with

    def logged(*args: Any, **kwargs: Any) -> polyvox.Heard:
        with lock:
            log.append(("hear-start", -1))
        return hear(*args, **kwargs)

    kernel.hearing.hear_with = logged  # type: ignore[method-assign]
    opening = "The longest line of this script opens it, and by length it would be made last."
    script = [opening, LINES[0], LINES[2], LINES[1]]
    assert sorted(script, key=len)[-1] == opening
    result = kernel.render("\n".join(script), engine="batched", params=QUIET,
                           verify=polyvox.VerifyOptions(retakes=0))
    assert result.verification.heard == 4
    made = [i for kind, i in log if kind == "synth-start"]
    assert made == [len(LINES), 0, 2, 1], log  # in script order (the opening logs as len(LINES))
    assert log.index(("hear-start", -1)) < log.index(("synth-start", 1)), log  # heard beside the rest


def test_a_synthesis_that_fails_loses_none_of_the_takes_before_it(tmp_path) -> None:
    """The engine fails on the third segment: the two before it are still heard, handed on in
    order (as a render without --verify streams them before the error) and their verdicts
    recorded, so the next run neither makes nor hears them again."""
    log: list[tuple[str, int]] = []
    kernel, engine = _kernel(tmp_path, log, threading.Lock())
    script = "\n".join([LINES[0], LINES[2], "Please fail here now."])
    events = Recorder()
    stream = kernel.stream(script, engine="logged", params=QUIET, verify=polyvox.VerifyOptions(retakes=0),
                           on_event=events)
    chunks = []
    with pytest.raises(polyvox.PolyvoxError, match="logged cannot say that"):
        for chunk in stream:
            chunks.append(chunk)
    assert sorted(e.index for e in events.of("SegmentHeard")) == [0, 1]
    assert sum(c.duration for c in chunks) > 2.0  # both segments' speech went out before the error
    assert ("hear-end", 1) in log and log.index(("hear-end", 1)) > log.index(("synth-start", 2))

    made, heard = len(engine.calls), kernel.hearing.calls
    again = kernel.render("\n".join([LINES[0], LINES[2]]), engine="logged", params=QUIET,
                          verify=polyvox.VerifyOptions(retakes=0))
    assert len(engine.calls) == made and kernel.hearing.calls == heard
    assert again.verification.heard == 0 and len(again.verification.segments) == 2
