"""Shared fixtures: a kernel with a private cache directory, and a scriptable test engine."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import polyvox
from polyvox import Audio, Capabilities, EngineSpec, ParamSpec, Request

#: Piper with its noise off is deterministic: use it where tests compare samples.
QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}

#: What `polyvox --help` must not import (each costs a tenth of a second to seconds): engines,
#: audio, the server stack, the cache's database, clusters.
HEAVY_MODULES = frozenset({"numpy", "onnxruntime", "piper", "soundfile", "scipy", "torch", "pedalboard", "pysbd",
                           "rich", "fastapi", "starlette", "uvicorn", "pydantic", "av", "ray", "diskcache", "httpx"})


def imported_modules(importtime_stderr: str) -> set[str]:
    """The top-level modules a `python -X importtime` run imported, read from its stderr."""
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in importtime_stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def parked(ident: int | None, polls: int = 3, every: float = 0.005) -> bool:
    """Whether the thread `ident` stands still (blocked, on a lock say) over a few polls, while
    this thread sleeps and leaves it the interpreter: for tests that must line threads up."""
    seen = None
    for _ in range(polls):
        frame = sys._current_frames().get(ident)  # noqa: SLF001 - the only way to see another thread's place
        if frame is None:
            return False
        here = (frame.f_code, frame.f_lasti, _depth(frame))
        if seen is not None and here != seen:
            return False
        seen = here
        time.sleep(every)
    return True


def _depth(frame: Any) -> int:
    depth = 0
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


def wait_parked(ident: int | None, timeout: float = 10) -> bool:
    """Wait until the thread `ident` is `parked` (False if it was not within `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if parked(ident):
            return True
    return False


@pytest.fixture(scope="session")
def _session_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One models folder for the session: Piper's optimized graphs (polyvox.weights.optimized)
    are made once, as on a user's machine, not once per test."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                   _session_models: Path) -> None:
    """No test touches the user's cache or models folder, even one that forgets cache_dir."""
    monkeypatch.setenv("POLYVOX_CACHE_DIR", str(tmp_path_factory.mktemp("default-cache")))
    monkeypatch.setenv("POLYVOX_MODELS_DIR", str(_session_models))
    # Nor sees the engine environments a developer installed (polyvox install of an isolated plugin).
    monkeypatch.setenv("POLYVOX_ENVS_DIR", str(tmp_path_factory.mktemp("no-envs")))


@pytest.fixture
def kernel(tmp_path) -> polyvox.Kernel:
    return polyvox.Kernel(cache_dir=tmp_path / "cache")


class ToneEngine(polyvox.Engine):
    """A tiny real engine for kernel tests: a tone whose pitch follows the voice and text.

    `fail_on` makes the call for a given text raise (fault injection); `calls` counts calls.
    """

    name = "tone"

    def __init__(self, *, thread_safe: bool = False, batch: bool = False, fail_on: str | None = None,
                 delay: float = 0.0, name: str = "tone", batch_sizes: dict[str, int] | None = None):
        self.name = name
        self.batch_sizes = batch_sizes or {}
        self.thread_safe = thread_safe
        self.batch = batch
        self.fail_on = fail_on
        self.delay = delay
        self.calls: list[str] = []
        self.loads = 0
        self.prepared = 0
        self._lock = threading.Lock()

    def spec(self) -> EngineSpec:
        return EngineSpec(
            name=self.name, sample_rate=16000, languages=("en", "de"), default_model="base",
            models=("base", "large"), max_chars=200,
            params=(ParamSpec("rate", 1.0, min=0.5, max=2.0, aliases=("speed",)),
                    ParamSpec("brightness", 0.5, min=0.0, max=1.0, affects_voice=True)),
            # normalizes every language: tests match the texts it receives as they wrote them
            capabilities=Capabilities(thread_safe=self.thread_safe, batch=self.batch, seeded=True,
                                      batch_sizes=self.batch_sizes, normalizes=("*",)),
            priority=-100,
        )

    def load(self, model: str, device: str) -> Any:
        import time

        time.sleep(self.delay)
        with self._lock:
            self.loads += 1
        return {"model": model, "device": device}

    def prepare(self, model: Any, voice: polyvox.Voice, params: dict[str, Any]) -> Any:
        with self._lock:
            self.prepared += 1
        base = 220.0 if voice.audio is None else 200.0 + Audio.read(voice.audio).rms * 1000
        return {"pitch": base * (1 + params["brightness"])}

    def synthesize(self, model: Any, request: Request, conditioning: Any) -> Audio:
        import time

        with self._lock:
            self.calls.append(request.text)
        if self.fail_on is not None and self.fail_on in request.text:
            raise RuntimeError(f"boom on {request.text!r}")
        time.sleep(self.delay)
        seconds = 0.05 * len(request.text) / request.params["rate"]
        t = np.arange(round(seconds * 16000)) / 16000
        rng = np.random.default_rng(request.seed)
        tone = 0.3 * np.sin(2 * np.pi * conditioning["pitch"] * t) + 0.01 * rng.standard_normal(len(t))
        return Audio(tone.astype(np.float32), 16000)

    def synthesize_many(self, model: Any, requests: list[Request], conditioning: Any) -> list[Audio]:
        with self._lock:
            self.calls.append(f"batch of {len(requests)}")
        return [self.synthesize(model, r, conditioning) for r in requests]


class BatchTone(ToneEngine):
    """A batching tone engine that records each call's texts; one `delay` per call (not per
    item), as a GPU spends about the same time on a batch as on one row. A text containing
    "hold" blocks its call until `gate` is set (so tests can line requests up behind it)."""

    def __init__(self, **kwargs: Any):
        super().__init__(batch=True, **kwargs)
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.holding = threading.Event()

    def _record(self, texts: list[str]) -> None:
        with self._lock:
            self.batches.append(texts)
        if any("hold" in t for t in texts):
            self.holding.set()
            assert self.gate.wait(20), "the test never opened the gate"
        time.sleep(self.delay)

    def synthesize(self, model: Any, request: Request, conditioning: Any) -> Audio:
        self._record([request.text])
        return self._tone(request, conditioning)

    def synthesize_many(self, model: Any, requests: list[Request], conditioning: Any) -> list[Audio]:
        self._record([r.text for r in requests])
        return [self._tone(r, conditioning) for r in requests]

    def _tone(self, request: Request, conditioning: Any) -> Audio:
        if self.fail_on is not None and self.fail_on in request.text:
            raise RuntimeError(f"boom on {request.text!r}")
        seconds = 0.05 * len(request.text) / request.params["rate"]
        t = np.arange(round(seconds * 16000)) / 16000
        rng = np.random.default_rng(request.seed)
        tone = 0.3 * np.sin(2 * np.pi * conditioning["pitch"] * t) + 0.01 * rng.standard_normal(len(t))
        return Audio(tone.astype(np.float32), 16000)


@pytest.fixture
def tone() -> ToneEngine:
    return ToneEngine()


@pytest.fixture
def tone_kernel(tmp_path, tone) -> polyvox.Kernel:
    k = polyvox.Kernel(cache_dir=tmp_path / "cache")
    k.register(tone)
    return k


@pytest.fixture(scope="session")
def isotone_env(tmp_path_factory: pytest.TempPathFactory):
    """The isolated test engine's environment, built once per session (tests/isolation_kit.py)."""
    from isolation_kit import build

    return build(tmp_path_factory.mktemp("isolation"))


@pytest.fixture
def isolated_kernel(isotone_env, tmp_path, monkeypatch):
    """A kernel that finds the isotone environment; every worker it started is gone afterwards."""
    import os
    from pathlib import Path

    from isolation_kit import children

    from polyvox.isolation import host

    monkeypatch.setenv("POLYVOX_ENVS_DIR", str(Path(isotone_env.path).parent))
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    yield kernel
    for worker in list(host._HOSTS):
        worker.close()
    assert children(os.getpid()) == [], "a worker process outlived its test"


@pytest.fixture(scope="session")
def local_ray(tmp_path_factory: pytest.TempPathFactory):
    """One local Ray for the whole session (127.0.0.1, 2 CPUs, no dashboard, no usage
    reporting, no token in the home directory): starting one takes seconds."""
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'polyvox[ray]' (make test installs it)")
    mp = pytest.MonkeyPatch()
    mp.setenv("RAY_USAGE_STATS_ENABLED", "0")  # no network
    mp.setenv("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             _temp_dir=str(tmp_path_factory.mktemp("ray")))
    yield ray
    ray.shutdown()
    mp.undo()


@pytest.fixture
def executors(local_ray):
    """Makes Ray executors, and stops their replicas after the test even when it fails, so
    the next test finds the local Ray's 2 CPUs free."""
    from polyvox.distributed import RayExecutor

    made: list[Any] = []

    def make(**options: Any) -> Any:
        made.append(RayExecutor(**options))
        return made[-1]

    yield make
    for executor in made:
        executor.shutdown()
