"""The kernel's ears: the installed listeners, their models through the shared model manager
(one load per process, the memory budget, the weights service), and one `hear` call that
resamples to the listener's rate and checks what comes back."""

from __future__ import annotations

import contextlib

from polyvox.audio import Audio
from polyvox.errors import PluginError, PolyvoxError
from polyvox.listen.heard import Heard, ListenerSpec
from polyvox.plugin.registry import Plugins
from polyvox.render.models import ModelManager


class Hearing:
    def __init__(self, plugins: Plugins, models: ModelManager, device: str):
        self.plugins = plugins
        self.models = models
        self.device = device
        self.calls = 0  # listener calls made, for tests and benchmarks

    def ranked(self) -> list[ListenerSpec]:
        return sorted(self.plugins.listeners.values(), key=lambda s: (-s.priority, s.name))

    def resolve(self, listener: str | None = None) -> tuple[ListenerSpec, str]:
        """``None`` (the best installed), ``NAME`` (its default model) or ``NAME:MODEL``."""
        name, _, model = (listener or "").partition(":")
        if not name:
            ranked = self.ranked()
            if not ranked:
                raise PolyvoxError("no listener is installed, so nothing can hear the audio; install one with "
                                   "`polyvox install whisper` (pip install polyvox-whisper)")
            spec = ranked[0]
        else:
            spec = self.plugins.listeners.get(name)  # type: ignore[assignment]
            if spec is None:
                known = ", ".join(sorted(self.plugins.listeners)) or "none installed"
                raise PolyvoxError(f"listener {name!r} is not installed (installed: {known}); install it with "
                                   f"`polyvox install {name}` (pip install polyvox-{name})")
        return spec, model or spec.default_model

    def hear(self, audio: Audio, language: str | None = None, listener: str | None = None) -> Heard:
        spec, model = self.resolve(listener)
        return self.hear_with(spec, model, audio, language)

    def hear_with(self, spec: ListenerSpec, model: str, audio: Audio, language: str | None) -> Heard:
        clip = audio if audio.sample_rate == spec.sample_rate else audio.resample(spec.sample_rate)
        try:
            with self.models.lease(spec.name, model, self.device) as entry, \
                    contextlib.nullcontext() if spec.thread_safe else entry.lock:
                self.calls += 1
                heard = self.plugins.hook.hear(listener=spec.name, model=entry.model, audio=clip, language=language)
        except PolyvoxError:
            raise
        except Exception as exc:
            raise PluginError(f"listener {spec.name!r} failed hearing {audio.duration:.2f} s of audio: "
                              f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(heard, Heard):
            raise PluginError(f"listener {spec.name!r} returned {type(heard).__name__} instead of Heard")
        return heard

    def runs_on(self, spec: ListenerSpec, model: str) -> str:
        """The device `model` of `spec` runs on (``cpu``, ``cuda:0``...), loading it if need be."""
        with self.models.lease(spec.name, model, self.device) as entry:
            return entry.budget_device


def label(spec: ListenerSpec, model: str) -> str:
    return f"{spec.name}:{model}"

