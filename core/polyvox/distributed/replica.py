"""One engine replica: a loaded model in a worker process, called with plain data.

A `Replica` is what a cluster actor hosts. It loads the plugins by their entry-point names
in its own process (plugin objects never travel), loads its one model once, prepares each
voice's conditioning once, and answers each call with plain data: float32 samples and a
sample rate per segment, or the error text naming what went wrong. Nothing here imports
Ray, so the same class runs (and is tested) in-process.

An engine installed in its own environment (polyvox.isolation) is served the same way: the
replica's plugin registry finds its record in `envs_dir` and registers a `HostedPlugin`, so
the replica starts the engine's worker process as its own child and every hook crosses the
same engine-host seam as in a local render. The replica's Python stays the driver's (Ray's)
one; only the worker runs the engine's interpreter. Given the engine's `recipe`, the replica
first makes that environment on its node when it is not there (polyvox.distributed.node_envs).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from polyvox.distributed.node_envs import PASSED_SETTINGS
from polyvox.errors import PolyvoxError
from polyvox.render.execution import engine_call
from polyvox.render.models import LoadedModel, ModelKey, ModelManager
from polyvox.text.segment import Request

#: One segment's outcome: ("ok", samples, sample_rate) or ("error", message).
Outcome = tuple[Any, ...]


class Replica:
    """One (engine, model, device) loaded in this process, serving synthesis calls."""

    def __init__(self, plugins: Sequence[str], key: ModelKey, *, threads: int | None = None,
                 envs_dir: str | None = None, recipe: dict[str, Any] | None = None):
        from polyvox.distributed.node_envs import Recipe, ensure
        from polyvox.plugin.registry import Plugins

        if threads is not None:
            # The CPUs this replica was given, for engines that size their thread pools from
            # it (Piper's ONNX Runtime, torch) and for the engine workers it starts: two
            # replicas on two cores must not each spread over both.
            os.environ["OMP_NUM_THREADS"] = str(threads)
        if envs_dir is not None:  # the driver's isolated engines, at the same path on this node
            os.environ["POLYVOX_ENVS_DIR"] = envs_dir
        #: Whether this replica made its engine's environment on this node (it was missing).
        self.built = ensure(Recipe(**recipe)) if recipe is not None else False
        self.key = key
        self.plugins = Plugins(list(plugins))
        failed = [f for f in self.plugins.failures if f.name in plugins]
        if key[0] not in self.plugins.specs:
            why = f" ({failed[0].error})" if failed else ""
            raise PolyvoxError(f"engine {key[0]!r} is not available in the replica process: plugins "
                               f"{', '.join(plugins) or 'none'} did not declare it{why}")
        self.spec = self.plugins.specs[key[0]]
        self.models = ModelManager(self.plugins.hook, lambda event: None)
        self.calls = 0

    def info(self) -> dict[str, Any]:
        """Where this replica runs and what it did (for tests, benchmarks and `ray status` users)."""
        return {"pid": os.getpid(), "key": self.key, "loads": self.models.loads,
                "voice_preparations": self.models.voice_preparations, "calls": self.calls,
                "workers": self.workers(), "threads": os.environ.get("OMP_NUM_THREADS"), "built": self.built,
                "settings": {k: os.environ[k] for k in ("POLYVOX_ENVS_DIR", *PASSED_SETTINGS) if k in os.environ}}

    def workers(self) -> list[int]:
        """Pids of the engine worker processes this replica runs (isolated engines only)."""
        from polyvox.isolation.hosted import HostedPlugin

        plugin = self.plugins.pm.get_plugin(self.plugins.plugin_of(self.key[0]) or "")
        pid = getattr(plugin.host, "pid", None) if isinstance(plugin, HostedPlugin) else None
        return [pid] if pid is not None else []

    def warm(self) -> dict[str, Any]:
        """Load the model now, so a replica is ready (or its load error known) before work
        arrives: `info()` with this call's loads, or {"fatal": type, "message"}."""
        loads = self.models.loads
        try:
            self.models.get(*self.key)
        except PolyvoxError as exc:
            return {"fatal": type(exc).__name__, "message": str(exc)}
        return {**self.info(), "loads": self.models.loads - loads}

    def synthesize(self, voice_key: str | None, requests: Sequence[Request],
                   fingerprint: str | None = None) -> dict[str, Any]:
        """Synthesize `requests` (one voice) as one call, a batch when there are several.
        `fingerprint`: the model content the driver planned with (a replica that outlives a
        change of the model's files loads it again, so no old audio is cached under new keys).

        Returns {"outcomes": [...], "seconds": per-segment seconds, "loads": models loaded,
        "voice_preparations": conditionings prepared} — the counts are this call's, so the
        driver can add them to its own. A model that cannot load is {"fatal": type, "message"}.
        """
        loads, preps = self.models.loads, self.models.voice_preparations
        start = time.perf_counter()
        try:
            entry = self.models.get(*self.key, fingerprint=fingerprint)
        except PolyvoxError as exc:
            return {"fatal": type(exc).__name__, "message": str(exc)}
        outcomes = self._call(entry, voice_key, list(requests))
        return {"outcomes": outcomes, "seconds": (time.perf_counter() - start) / max(1, len(requests)),
                "loads": self.models.loads - loads,
                "voice_preparations": self.models.voice_preparations - preps}

    def _call(self, entry: LoadedModel, voice_key: str | None, requests: list[Request]) -> list[Outcome]:
        """One engine call, made as the driver's scheduler makes it (`engine_call`); a batch
        that fails is made again one request at a time, so only the failing segment fails."""
        self.calls += 1
        try:
            out = engine_call(self.plugins.hook, self.models, entry, self.spec.capabilities, voice_key, requests)
        except Exception as exc:
            if len(requests) > 1:
                return [self._call(entry, voice_key, [r])[0] for r in requests]
            text = str(exc) if isinstance(exc, PolyvoxError) else f"{type(exc).__name__}: {exc}"
            return [("error", text)]
        return [("ok", np.asarray(a.samples, dtype=np.float32), int(a.sample_rate)) for a in out]
