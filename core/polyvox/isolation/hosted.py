"""`HostedPlugin`: an `EngineHost`'s engines (and listeners) as an ordinary pluggy plugin.

The kernel's planner, model pool and scheduler call engines only through the hooks, so an
engine that runs in a worker (or a cluster actor) is registered as this object and the
rest of the kernel never learns the difference. Its specs come from the environment's
record, so listing engines starts no worker; the first hook that needs the engine does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from polyvox.audio import Audio
from polyvox.isolation.seam import EngineHost
from polyvox.listen.heard import Heard, ListenerSpec
from polyvox.plugin.hookspecs import hookimpl
from polyvox.plugin.spec import EngineSpec
from polyvox.text.segment import Request
from polyvox.voices.voice import Voice


class HostedPlugin:
    """Answers the hooks for the engines in `specs` by asking `host`."""

    def __init__(self, host: EngineHost, specs: Iterable[EngineSpec], *, finds_voices: bool = False,
                 version: str = "0", listeners: Iterable[ListenerSpec] = ()):
        self.host = host
        self.specs = tuple(specs)
        self.listeners = tuple(listeners)
        self.heard_by = frozenset(s.name for s in self.listeners)
        #: Engines and listeners: both load their models through `load_model` under their name.
        self.names = frozenset(s.name for s in self.specs) | self.heard_by
        self.finds_voices = finds_voices
        self.version = version
        self._languages: dict[tuple[str, str], str | None] = {}
        self._files: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return self.host.where

    @hookimpl
    def register_engines(self, register: Callable[[EngineSpec], None]) -> None:
        for spec in self.specs:
            register(spec)

    @hookimpl
    def register_listeners(self, register: Callable[[ListenerSpec], None]) -> None:
        for spec in self.listeners:
            register(spec)

    @hookimpl
    def hear(self, listener: str, model: Any, audio: Audio, language: str | None) -> Heard | None:
        return self.host.hear(listener, model, audio, language) if listener in self.heard_by else None

    @hookimpl
    def find_voices(self, directory: str) -> list[Voice]:
        # Only engines whose voices are files ask the worker: a voice scan must not start every worker.
        return self.host.find_voices(directory) if self.finds_voices else []

    @hookimpl(trylast=True)  # language packs loaded in the kernel answer first, as for any engine
    def map_language(self, engine: str, language: str) -> str | None:
        if engine not in self.names:
            return None
        with self._lock:  # a fixed answer per environment: ask once
            if (engine, language) not in self._languages:
                self._languages[(engine, language)] = self.host.map_language(engine, language)
            return self._languages[(engine, language)]

    @hookimpl
    def model_files(self, engine: str, model: str) -> list[str] | None:
        # Asked at every plan: remembered, so a render served from the cache starts no worker.
        # The kernel hashes the files' content itself; only "not downloaded yet" ([]) is asked again.
        if engine not in self.names:
            return None
        with self._lock:
            files = self._files.get((engine, model))
        if not files:
            files = self.host.model_files(engine, model)
            if files is None:
                return None
            with self._lock:
                self._files[(engine, model)] = list(files)
        return list(files)

    @hookimpl
    def load_model(self, engine: str, model: str, device: str, files: Any = None) -> Any:
        return self.host.load_model(engine, model, device, files) if engine in self.names else None

    @hookimpl
    def model_size(self, engine: str, model: Any) -> int | None:
        return self.host.model_size(engine, model) if engine in self.names else None

    @hookimpl
    def prepare_voice(self, engine: str, model: Any, voice: Voice, params: dict[str, Any]) -> Any:
        return self.host.prepare_voice(engine, model, voice, params) if engine in self.names else None

    @hookimpl
    def synthesize_segment(self, engine: str, model: Any, request: Request, conditioning: Any) -> Audio | None:
        return self.host.synthesize_segment(engine, model, request, conditioning) if engine in self.names else None

    @hookimpl
    def synthesize_batch(self, engine: str, model: Any, requests: list[Request],
                         conditioning: Any) -> list[Audio] | None:
        if engine not in self.names:
            return None
        return self.host.synthesize_batch(engine, model, requests, conditioning)
