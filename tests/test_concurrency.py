"""Concurrency, measured: an engine that records how many of its calls are in flight shows that
`workers` really runs a thread-safe engine in parallel, that an engine which is not thread-safe
never sees two calls on one model at once (even from concurrent renders on one kernel), that
seeded engines which are not thread-safe run one call at a time in the whole process, and that
the audio is the same as a sequential render's."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import attrs
import pytest
from conftest import ToneEngine

import polyvox


class InFlight:
    """Calls in flight now, per (engine, model) and in all, and the most ever seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Counter[tuple[str, str]] = Counter()
        self.most: Counter[tuple[str, str]] = Counter()
        self.most_overall = 0

    def enter(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.now[key] += 1
            self.most[key] = max(self.most[key], self.now[key])
            self.most_overall = max(self.most_overall, sum(self.now.values()))

    def leave(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.now[key] -= 1


class Recording(ToneEngine):
    """The tone engine, each call held for `delay` seconds and recorded in `flight`."""

    def __init__(self, flight: InFlight, *, seeded: bool = True, **kwargs: Any):
        super().__init__(delay=0.03, **kwargs)
        self.flight = flight
        self.seeded = seeded

    def spec(self) -> polyvox.EngineSpec:
        spec = super().spec()
        return attrs.evolve(spec, capabilities=attrs.evolve(spec.capabilities, seeded=self.seeded))

    def synthesize(self, model: Any, request: polyvox.Request, conditioning: Any) -> polyvox.Audio:
        key = (self.name, model["model"])
        self.flight.enter(key)
        try:
            return super().synthesize(model, request, conditioning)
        finally:
            self.flight.leave(key)


class Meeting(Recording):
    """Recording, with a rendezvous: the first call of each model (`per_model`), or the first
    `parties` calls, wait inside the engine until all of them are in it at once (10 s at most).
    They meet only if they may run at the same time: proof by an event, not by timing."""

    def __init__(self, flight: InFlight, *, parties: int = 2, per_model: bool = False, **kwargs: Any):
        super().__init__(flight, **kwargs)
        self.barrier = threading.Barrier(parties, timeout=10)
        self.per_model = per_model
        self.joined: list[str] = []
        self.met: list[bool] = []

    def synthesize(self, model: Any, request: polyvox.Request, conditioning: Any) -> polyvox.Audio:
        with self._lock:
            joins = len(self.joined) < self.barrier.parties and not (self.per_model and model["model"] in self.joined)
            if joins:
                self.joined.append(model["model"])
        if joins:
            try:
                self.barrier.wait()
                self.met.append(True)
            except threading.BrokenBarrierError:
                self.met.append(False)
        return super().synthesize(model, request, conditioning)


SCRIPT = [polyvox.Segment(f"line number {i}", model="large" if i % 2 else "base") for i in range(8)]


def kernel_with(*engines: ToneEngine) -> polyvox.Kernel:
    kernel = polyvox.Kernel(cache=False)
    for engine in engines:
        kernel.register(engine)
    return kernel


def in_threads(count: int, target: Any) -> dict[int, Any]:
    """Run `target(i)` in `count` threads at once; their results (an exception fails the test)."""
    results: dict[int, Any] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait(timeout=10)
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == count, "a render thread did not finish within 60 s"
    return results


def test_workers_run_a_thread_safe_engine_in_parallel():
    flight = InFlight()
    engine = Meeting(flight, thread_safe=True)
    kernel = kernel_with(engine)
    parallel = kernel.render(SCRIPT, engine="tone", workers=4)
    assert engine.met == [True, True], "workers=4 never had two calls in the engine at once"
    sequential = kernel_with(Recording(InFlight(), thread_safe=True)).render(SCRIPT, engine="tone")
    assert parallel.audio == sequential.audio


@pytest.mark.parametrize("seeded", [False, True])
def test_an_engine_that_is_not_thread_safe_gets_one_call_per_model(seeded):
    flight = InFlight()
    kernel = kernel_with(Recording(flight, seeded=seeded))
    # four renders at once on one kernel, each asking for workers it must not get
    results = in_threads(4, lambda i: kernel.render(SCRIPT, engine="tone", workers=4, seed=i))
    assert flight.most == Counter({("tone", "base"): 1, ("tone", "large"): 1}), dict(flight.most)
    for i, result in results.items():
        alone = kernel_with(Recording(InFlight(), seeded=seeded)).render(SCRIPT, engine="tone", seed=i)
        assert result.audio == alone.audio, f"render {i} differs from the same render alone"


def test_the_lock_of_an_engine_that_is_not_thread_safe_is_per_model():
    """Two renders, one per model, of an engine that is neither thread-safe nor seeded: the
    models' first calls meet in the engine (with one lock for the engine they never could)."""
    engine = Meeting(InFlight(), seeded=False, per_model=True)
    kernel = kernel_with(engine)
    scripts = {"base": SCRIPT[0::2], "large": SCRIPT[1::2]}
    in_threads(2, lambda i: kernel.render(scripts[("base", "large")[i]], engine="tone"))
    assert sorted(engine.joined) == ["base", "large"]
    assert engine.met == [True, True], "the two models' calls never ran at once"


def test_seeded_engines_that_are_not_thread_safe_run_one_call_in_the_process():
    """Two such engines (each would seed a global generator) in concurrent renders never overlap."""
    flight = InFlight()
    kernel = kernel_with(Recording(flight, name="one"), Recording(flight, name="two"))
    results = in_threads(4, lambda i: kernel.render(SCRIPT, engine="one" if i % 2 else "two", workers=2))
    assert sum(flight.most.values()) == 4 and flight.most_overall == 1, (dict(flight.most), flight.most_overall)
    for i, result in results.items():
        name = "one" if i % 2 else "two"
        alone = kernel_with(Recording(InFlight(), name=name)).render(SCRIPT, engine=name)
        assert result.audio == alone.audio
