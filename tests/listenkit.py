"""Helpers for the listening tests: an engine that drops words for some seeds, and event logs."""

from __future__ import annotations

import threading
import time
from typing import Any

import attrs

import polyvox
from polyvox.builtins.piper import Piper

#: Piper with its noise off: the same audio for the same text on every run.
QUIET = {"noise_scale": 0.0, "noise_w_scale": 0.0}


class Sloppy(Piper):
    """Speaks with Piper's bundled voice, but drops the middle word of the text unless
    (seed + length of the text) is a multiple of 3: a seeded engine that fails some takes, as
    neural engines skip words for some seeds."""

    name = "sloppy"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []
        self.log: list[tuple[str, float]] = []  # ("synth-start"/"synth-end", perf_counter)
        self.cores: list[int] = []  # polyvox.cores.available() at each call
        self._lock = threading.Lock()

    def spec(self) -> polyvox.EngineSpec:
        spec = super().spec()
        return attrs.evolve(spec, name=self.name, priority=-50,
                            capabilities=attrs.evolve(spec.capabilities, seeded=True, batch=False))

    @staticmethod
    def drops(text: str, seed: int) -> bool:
        return (seed + len(text)) % 3 != 0

    def synthesize(self, model: Any, request: polyvox.Request, conditioning: Any) -> polyvox.Audio:
        with self._lock:
            self.calls.append((request.text, request.seed))
            self.cores.append(polyvox.cores.available())
            self.log.append(("synth-start", time.perf_counter()))
        words = request.text.split()
        if self.drops(request.text, request.seed):
            del words[len(words) // 2]
        try:
            return super().synthesize(model, attrs.evolve(request, text=" ".join(words)), conditioning)
        finally:
            with self._lock:
                self.log.append(("synth-end", time.perf_counter()))


class Recorder:
    """Every event of a render, in order."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if type(e).__name__ == kind]
