"""`Listener`: write one small class, get every listener hook implemented for your name.

    class Ears(polyvox.Listener):
        def spec(self): return polyvox.ListenerSpec(name="ears", sample_rate=16000,
                                                    default_model="base", models={"base": ("en",)})
        def load(self, model, device): return MyRecognizer(...)
        def transcribe(self, model, audio, language): return polyvox.Heard(words=[...], text="...")

Register an instance as a plugin (entry point ``polyvox``, as for engines). Models come
through the kernel's model manager and weights service, as engines' do (`weights`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polyvox.audio import Audio
from polyvox.errors import PluginError
from polyvox.listen.heard import Heard, ListenerSpec
from polyvox.plugin.hookspecs import hookimpl
from polyvox.weights.sources import Files, ModelWeights


class Listener:
    """Base class that turns methods into hook implementations for `name` only."""

    name: str = ""

    # -- what subclasses write ---------------------------------------------------------
    def spec(self) -> ListenerSpec:
        raise NotImplementedError

    def load(self, model: str, device: str) -> Any:
        """Load `model`. Listeners that declare `weights` take a third argument, the `Files`."""
        raise NotImplementedError

    def transcribe(self, model: Any, audio: Audio, language: str | None) -> Heard:
        raise NotImplementedError

    def weights(self, model: str) -> ModelWeights | None:
        """The files `model` needs and where they come from (see the `model_weights` hook)."""
        return None

    def files(self, model: str) -> list[str]:
        return []

    def size(self, model: Any) -> int | None:
        return None

    # -- the hooks ---------------------------------------------------------------------
    @hookimpl
    def register_listeners(self, register: Callable[[ListenerSpec], None]) -> None:
        spec = self.spec()
        if not self.name:
            self.name = spec.name
        elif spec.name != self.name:
            raise PluginError(f"listener class {type(self).__name__} is named {self.name!r} but its spec() "
                              f"declares {spec.name!r}: use one name")
        register(spec)

    @hookimpl
    def hear(self, listener: str, model: Any, audio: Audio, language: str | None) -> Heard | None:
        return self.transcribe(model, audio, language) if listener == self.name else None

    @hookimpl
    def model_weights(self, engine: str, model: str) -> ModelWeights | None:
        return self.weights(model) if engine == self.name else None

    @hookimpl
    def model_files(self, engine: str, model: str) -> list[str] | None:
        return [str(f) for f in self.files(model)] if engine == self.name else None

    @hookimpl
    def load_model(self, engine: str, model: str, device: str, files: Files | None) -> Any:
        if engine != self.name:
            return None
        return self.load(model, device) if files is None else self.load(model, device, files)  # type: ignore[call-arg]

    @hookimpl
    def model_size(self, engine: str, model: Any) -> int | None:
        return self.size(model) if engine == self.name else None
