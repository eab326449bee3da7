"""The engine host seam: where an engine's hooks run.

The kernel's model pool and scheduler call an engine through the pluggy hooks; an engine
that runs elsewhere is reached through an `EngineHost`, which `HostedPlugin`
(polyvox.isolation.hosted) turns back into those hooks. So the kernel talks to every
engine the same way, and where an engine runs is one object:

- `InProcessHost`: the hooks of plugins loaded in this process (what the kernel does today);
- `WorkerHost` (polyvox.isolation.host): a worker process in the engine's own environment;
- on Ray, a replica (polyvox.distributed.replica) registers the same `HostedPlugin` and
  starts its own `WorkerHost`, so an isolated engine crosses this seam there too.

Objects an engine owns (the loaded model, the voice conditioning) never cross a host that
is out of process: it returns handles for them, and takes the handles back. A listener
(polyvox.listen) is hosted the same way: its model loads through `load_model` under its name,
and `hear` carries the audio over and the words back.
"""

from __future__ import annotations

from typing import Any, Protocol

from polyvox.audio import Audio
from polyvox.listen.heard import Heard
from polyvox.text.segment import Request
from polyvox.voices.voice import Voice


class EngineHost(Protocol):
    """Runs the engine hooks of some engines, wherever they live.

    Every method mirrors the hook of the same name (polyvox.plugin.hookspecs) for one of
    the host's engines; `model` and `conditioning` are whatever this host returned from
    `load_model` and `prepare_voice` (handles, for a host out of process).
    """

    #: Where the engines run, in words, for ``polyvox engines``.
    where: str

    def load_model(self, engine: str, model: str, device: str, files: Any = None) -> Any: ...
    def model_size(self, engine: str, model: Any) -> int | None: ...
    def prepare_voice(self, engine: str, model: Any, voice: Voice, params: dict[str, Any]) -> Any: ...
    def synthesize_segment(self, engine: str, model: Any, request: Request, conditioning: Any) -> Audio | None: ...
    def synthesize_batch(self, engine: str, model: Any, requests: list[Request],
                         conditioning: Any) -> list[Audio] | None: ...
    def model_files(self, engine: str, model: str) -> list[str] | None: ...
    def map_language(self, engine: str, language: str) -> str | None: ...
    def find_voices(self, directory: str) -> list[Voice]: ...
    def hear(self, listener: str, model: Any, audio: Audio, language: str | None) -> Heard | None: ...


class InProcessHost:
    """The hooks of the plugins loaded in this process: a thin pass-through to pluggy."""

    where = "in-process"

    def __init__(self, hook: Any):
        self._hook = hook

    def load_model(self, engine: str, model: str, device: str, files: Any = None) -> Any:
        return self._hook.load_model(engine=engine, model=model, device=device, files=files)

    def model_size(self, engine: str, model: Any) -> int | None:
        return self._hook.model_size(engine=engine, model=model)

    def prepare_voice(self, engine: str, model: Any, voice: Voice, params: dict[str, Any]) -> Any:
        return self._hook.prepare_voice(engine=engine, model=model, voice=voice, params=params)

    def synthesize_segment(self, engine: str, model: Any, request: Request, conditioning: Any) -> Audio | None:
        return self._hook.synthesize_segment(engine=engine, model=model, request=request, conditioning=conditioning)

    def synthesize_batch(self, engine: str, model: Any, requests: list[Request],
                         conditioning: Any) -> list[Audio] | None:
        return self._hook.synthesize_batch(engine=engine, model=model, requests=requests, conditioning=conditioning)

    def model_files(self, engine: str, model: str) -> list[str] | None:
        return self._hook.model_files(engine=engine, model=model)

    def map_language(self, engine: str, language: str) -> str | None:
        return self._hook.map_language(engine=engine, language=language)

    def find_voices(self, directory: str) -> list[Voice]:
        return [v for found in self._hook.find_voices(directory=directory) for v in (found or [])]

    def hear(self, listener: str, model: Any, audio: Audio, language: str | None) -> Heard | None:
        return self._hook.hear(listener=listener, model=model, audio=audio, language=language)
