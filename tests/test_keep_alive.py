"""Models that come and go: keep-alive, memory budgets per device, and unloads that wait for
the engine call using the model."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from conftest import ToneEngine

import polyvox
from polyvox.errors import PolyvoxError
from polyvox.events import ModelLoaded, ModelUnloaded
from polyvox.render.residency import KeepAlive, parse_keep_alive, parse_max_memory


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Sized(ToneEngine):
    def size(self, model):
        return 600


class Heavy(ToneEngine):
    """Holds 64 MB of real memory per loaded model and does not say so."""

    def load(self, model, device):
        loaded = super().load(model, device)
        loaded["weights"] = np.ones(16 * 1024 * 1024, dtype=np.float32)  # touched: resident
        return loaded


def test_keep_alive_zero_unloads_after_the_render_not_between_its_segments():
    events = []
    engine = ToneEngine()
    kernel = polyvox.Kernel(cache=False, keep_alive=0, on_event=events.append)
    kernel.register(engine)
    kernel.render([polyvox.Segment(f"line {i}") for i in range(5)], engine="tone")
    assert engine.loads == 1  # held for the whole render
    assert kernel.models.loaded() == []
    assert [(type(e), getattr(e, "reason", None)) for e in events if isinstance(e, (ModelLoaded, ModelUnloaded))] == [
        (ModelLoaded, None), (ModelUnloaded, "idle")]


def test_an_idle_model_is_unloaded_after_its_keep_alive_and_loaded_again_when_asked():
    events = []
    engine = ToneEngine()
    kernel = polyvox.Kernel(cache=False, keep_alive="0.3s", on_event=events.append)
    kernel.register(engine)
    kernel.synthesize("one", engine="tone")
    wait_for(lambda: any(isinstance(e, ModelUnloaded) for e in events))
    assert kernel.models.loaded() == []
    assert [e.reason for e in events if isinstance(e, ModelUnloaded)] == ["idle"]
    kernel.synthesize("two", engine="tone")
    assert engine.loads == 2


def test_keep_alive_per_engine_overrides_the_default():
    kernel = polyvox.Kernel(cache=False, keep_alive=["0", "tone=-1"])
    kernel.register(ToneEngine())
    kernel.register(ToneEngine(name="other"))
    kernel.synthesize("a", engine="tone")
    kernel.synthesize("b", engine="other")
    assert kernel.models.loaded() == [("tone", "base", "auto")]  # other went at once, tone stays
    assert kernel.models.reap(time.monotonic() + 10**6) == 0


class Gated(ToneEngine):
    """Its calls wait for `go` once they have started (`started`)."""

    def __init__(self):
        super().__init__()
        self.started, self.go = threading.Event(), threading.Event()

    def synthesize(self, model, request, conditioning):
        self.started.set()
        assert self.go.wait(30)
        return super().synthesize(model, request, conditioning)


def test_an_unload_waits_for_the_call_using_the_model():
    engine = Gated()
    kernel = polyvox.Kernel(cache=False)
    kernel.register(engine)
    done = []
    thread = threading.Thread(target=lambda: done.append(kernel.synthesize("slow words", engine="tone")))
    thread.start()
    try:
        assert engine.started.wait(30)  # the call is under way
        assert kernel.unload("tone", "base", "auto") is True
        assert kernel.models.loaded() == [("tone", "base", "auto")]  # not under the call's feet
        assert kernel.models.residents()[0].in_use >= 1
    finally:
        engine.go.set()
        thread.join(30)
    assert done and done[0].duration > 0
    assert kernel.models.loaded() == []  # gone once the call let go


def test_a_device_budget_unloads_the_least_recently_used_on_that_device_only():
    events = []
    kernel = polyvox.Kernel(cache=False, max_memory=["cpu=1300"], on_event=events.append)
    kernel.register(Sized())
    kernel.register(Sized(name="other"))
    kernel.load("tone", "base", "cpu")
    kernel.load("tone", "large", "cpu")
    kernel.load("tone", "large", "cuda:1")  # another device's memory: not in the cpu budget
    with kernel.models.lease("tone", "base", "cpu"):
        pass  # base is now more recently used than large
    kernel.load("other", "base", "cpu")
    assert sorted(kernel.models.loaded()) == [("other", "base", "cpu"), ("tone", "base", "cpu"),
                                              ("tone", "large", "cuda:1")]
    assert [(e.model, e.device, e.reason) for e in events if isinstance(e, ModelUnloaded)] == [
        ("large", "cpu", "memory")]


def test_a_model_that_does_not_say_its_size_is_measured_at_load():
    import gc

    # The measure is the process's resident memory around the load, so memory another thread
    # gives back meanwhile (an earlier test's model let go, its threads ending) shrinks one
    # reading (CI read 45 MB of 64 once): each try is a kernel of its own, loaded after a quiet
    # moment, and nothing of its own is let go between tries.
    sizes, kernels = [], []
    for _ in range(3):
        kernel = polyvox.Kernel(cache=False)
        kernel.register(Heavy())
        kernels.append(kernel)
        gc.collect()  # earlier tests' garbage (Piper's ONNX Runtime arenas) is not collected inside the load
        time.sleep(0.3)
        kernel.load("tone")
        (resident,) = kernel.models.residents()
        sizes.append(resident.size)
        if resident.size is not None and 48 * 1024**2 <= resident.size <= 256 * 1024**2:
            break
    assert any(s is not None and 48 * 1024**2 <= s <= 256 * 1024**2 for s in sizes), sizes


def test_a_kernel_with_keep_alive_that_is_let_go_is_collected_and_its_reaper_ends():
    import gc
    import weakref

    kernel = polyvox.Kernel(cache=False, keep_alive="0.2s")
    kernel.register(ToneEngine())
    kernel.synthesize("hello", engine="tone")
    reaper, manager = kernel.models._reaper, weakref.ref(kernel.models)
    del kernel
    deadline = time.monotonic() + 10
    while manager() is not None or reaper.is_alive():
        assert time.monotonic() < deadline, "the kernel's models were never let go"
        gc.collect()
        time.sleep(0.05)


def test_bad_settings_are_one_line_errors():
    assert parse_keep_alive("10m") == 600 and parse_keep_alive("-1") is None and parse_keep_alive("0") == 0
    assert KeepAlive.parse(["5s", "piper:joe=1h"]).seconds("piper", "joe") == 3600
    assert parse_max_memory(["cuda=20GB", "cpu=512MB"]) == {"cuda:0": 20 * 1024**3, "cpu": 512 * 1024**2}
    with pytest.raises(PolyvoxError, match="'soon' is not a duration"):
        parse_keep_alive("soon")
    with pytest.raises(PolyvoxError, match="'gpu' is not cpu, cuda"):
        parse_max_memory(["gpu=1GB"])
    with pytest.raises(PolyvoxError, match="'lots' is not a size"):
        parse_max_memory(["cpu=lots"])
