"""`Engine`: write one small class, get every hook implemented for your engine's name.

    class Echo(polyvox.Engine):
        name = "echo"
        def spec(self): return polyvox.EngineSpec(name="echo", sample_rate=16000, ...)
        def load(self, model, device): return MyModel(...)
        def synthesize(self, model, request, conditioning): return polyvox.Audio(...)

    @polyvox.hookimpl
    def register_engines(register): ...   # not needed: the class does it

Register an instance as a plugin (entry point ``polyvox`` pointing at a module that holds
``plugin = Echo()``, or ``kernel.register(Echo())``). The hooks are the contract; this class
is only a convenience over them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyvox.audio import Audio
from polyvox.errors import PluginError
from polyvox.plugin.hookspecs import hookimpl
from polyvox.plugin.spec import EngineSpec
from polyvox.text.segment import Request
from polyvox.voices.voice import Voice
from polyvox.weights.sources import Files, ModelWeights


class Engine:
    """Base class that turns methods into hook implementations for `name` only."""

    name: str = ""

    # -- what subclasses write ---------------------------------------------------------
    def spec(self) -> EngineSpec:
        raise NotImplementedError

    def load(self, model: str, device: str) -> Any:
        """Load `model`. Engines that declare `weights` take a third argument, the `Files`."""
        raise NotImplementedError

    def synthesize(self, model: Any, request: Request, conditioning: Any) -> Audio:
        raise NotImplementedError

    def files(self, model: str) -> list[str]:
        """Local files of `model`, for the cache key's fingerprint."""
        return []

    def weights(self, model: str) -> ModelWeights | None:
        """The files `model` needs and where they come from (see the `model_weights` hook)."""
        return None

    def language_model(self, language: str) -> str | None:
        """The model for `language`; None falls back to the default model for declared languages."""
        return None

    def prepare(self, model: Any, voice: Voice, params: dict[str, Any]) -> Any:
        """Per-voice conditioning; None when the engine has nothing to prepare."""
        return None

    def synthesize_many(self, model: Any, requests: list[Request], conditioning: Any) -> list[Audio]:
        """Batch path for engines that declare ``Capabilities(batch=True)``."""
        return [self.synthesize(model, r, conditioning) for r in requests]

    def size(self, model: Any) -> int | None:
        return None

    def voices_in(self, directory: str) -> list[Voice]:
        """Voices of this engine stored as files in `directory` (engines whose voices are models)."""
        return []

    # -- the hooks ---------------------------------------------------------------------
    @hookimpl
    def register_engines(self, register: Callable[[EngineSpec], None]) -> None:
        spec = self.spec()
        if not self.name:  # named once, in the spec: the hooks answer for that name
            self.name = spec.name
        elif spec.name != self.name:
            raise PluginError(f"engine class {type(self).__name__} is named {self.name!r} but its spec() declares "
                              f"{spec.name!r}: use one name (set `name` and pass name=self.name to EngineSpec)")
        register(spec)

    @hookimpl
    def find_voices(self, directory: str) -> list[Voice]:
        return self.voices_in(directory)

    @hookimpl(trylast=True)
    def map_language(self, engine: str, language: str) -> str | None:
        return self.language_model(language) if engine == self.name else None

    @hookimpl
    def model_files(self, engine: str, model: str) -> list[str] | None:
        return [str(f) for f in self.files(model)] if engine == self.name else None

    @hookimpl
    def model_weights(self, engine: str, model: str) -> ModelWeights | None:
        return self.weights(model) if engine == self.name else None

    @hookimpl
    def load_model(self, engine: str, model: str, device: str, files: Files | None) -> Any:
        if engine != self.name:
            return None
        # Engines without declared weights keep the two-argument `load`.
        return self.load(model, device) if files is None else self.load(model, device, files)  # type: ignore[call-arg]

    @hookimpl
    def model_size(self, engine: str, model: Any) -> int | None:
        return self.size(model) if engine == self.name else None

    @hookimpl
    def prepare_voice(self, engine: str, model: Any, voice: Voice, params: dict[str, Any]) -> Any:
        return self.prepare(model, voice, params) if engine == self.name else None

    @hookimpl
    def synthesize_segment(self, engine: str, model: Any, request: Request, conditioning: Any) -> Audio | None:
        return self.synthesize(model, request, conditioning) if engine == self.name else None

    @hookimpl
    def synthesize_batch(
        self, engine: str, model: Any, requests: list[Request], conditioning: Any
    ) -> list[Audio] | None:
        return self.synthesize_many(model, requests, conditioning) if engine == self.name else None
