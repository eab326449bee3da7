"""The model manager: one loaded instance per (engine, model, device) in a process.

A model whose files were replaced since it was loaded (its content fingerprint, as the render
planned it, differs) is loaded again: a long-running host keys its segments by the new
content, so the audio it caches under those keys must come from the new weights.

Shared by every render, thread and API call; concurrent requests for one model load it
once; least-recently-used models are unloaded past a count or memory budget. Voice
conditioning is prepared once per (model, voice content, voice-relevant parameters) and
kept beside the model, never on it.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import attrs

from polyvox.errors import ModelError, PluginError, PolyvoxError
from polyvox.events import Event, ModelLoaded, ModelLoading, ModelUnloaded
from polyvox.render.fairlock import FairLock

ModelKey = tuple[str, str, str]  # (engine, model, device)


@attrs.define
class LoadedModel:
    key: ModelKey
    model: Any
    size: int | None
    #: The content of the model's files when it was loaded (None: not known).
    fingerprint: str | None = None
    #: Serializes calls into engines that are not thread-safe, and seeding + synthesis; granted
    #: in arrival order, so a long render cannot starve a short one of the same model.
    lock: FairLock = attrs.field(factory=FairLock)
    conditioning: dict[str, Any] = attrs.field(factory=dict)
    conditioning_lock: threading.Lock = attrs.field(factory=threading.Lock)


class ModelManager:
    def __init__(
        self,
        hook: Any,
        emit: Callable[[Event], None],
        max_models: int | None = None,
        memory_budget: int | None = None,
        weights: Any = None,
    ):
        self._hook = hook
        #: The kernel's weights service: missing files are fetched (or refused) before a load.
        self._weights = weights
        self._emit = emit
        self.max_models = max_models
        self.memory_budget = memory_budget
        self._models: OrderedDict[ModelKey, LoadedModel] = OrderedDict()
        self._loading: dict[ModelKey, threading.Lock] = {}
        self._lock = threading.Lock()
        self.loads = 0  # how many times a model was actually loaded in this process
        self.load_seconds = 0.0  # and the wall seconds those loads took
        self.voice_preparations = 0

    def get(self, engine: str, model: str, device: str, fingerprint: str | None = None) -> LoadedModel:
        """The loaded model, loading it (once, even under concurrent calls) if needed, and again
        if it was loaded from other content than `fingerprint` (its files were replaced)."""
        key = (engine, model, device)
        with self._lock:
            if (entry := self._current(key, fingerprint)) is not None:
                return entry
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if (entry := self._current(key, fingerprint)) is not None:  # loaded while we waited
                    return entry
                stale = key in self._models
            if stale:  # renders already holding the old one finish with it: their keys are the old content's
                self.unload(*key)
            files = self._weights.ensure(engine, model) if self._weights is not None else None
            self._emit(ModelLoading(engine, model, device))
            start = time.perf_counter()
            try:
                obj = self._hook.load_model(engine=engine, model=model, device=device, files=files)
            except PolyvoxError:
                raise
            except Exception as exc:
                raise ModelError(f"engine {engine!r} failed to load model {model!r}: {exc}") from exc
            if obj is None:
                raise PluginError(f"no plugin loaded model {model!r} of engine {engine!r}")
            try:
                size = self._hook.model_size(engine=engine, model=obj)
            except Exception:  # the size only serves the memory budget: unknown is fine
                size = None
            entry = LoadedModel(key, obj, size, fingerprint)
            took = time.perf_counter() - start
            with self._lock:
                self._models[key] = entry
                self._loading.pop(key, None)
                self.loads += 1
                self.load_seconds += took
            self._emit(ModelLoaded(engine, model, device, took, _runs_on(obj, device)))
            self._evict(keep=key)
            return entry

    def _current(self, key: ModelKey, fingerprint: str | None) -> LoadedModel | None:
        """The loaded model under `key` if it was made from `fingerprint`'s content (call under the lock)."""
        entry = self._models.get(key)
        if entry is None or (None not in (fingerprint, entry.fingerprint) and entry.fingerprint != fingerprint):
            return None
        if entry.fingerprint is None:  # loaded by a caller that did not say: from now on, this content
            entry.fingerprint = fingerprint
        self._models.move_to_end(key)
        return entry

    def conditioning(self, entry: LoadedModel, voice_key: str, prepare: Callable[[], Any]) -> Any:
        """The voice conditioning for `voice_key` on this model, prepared once."""
        with entry.conditioning_lock:
            if voice_key not in entry.conditioning:
                entry.conditioning[voice_key] = prepare()
                self.voice_preparations += 1
            return entry.conditioning[voice_key]

    def loaded(self) -> list[ModelKey]:
        with self._lock:
            return list(self._models)

    def unload(self, engine: str, model: str, device: str) -> bool:
        with self._lock:
            entry = self._models.pop((engine, model, device), None)
        if entry is None:
            return False
        del entry
        gc.collect()
        self._emit(ModelUnloaded(engine, model, device))
        return True

    def unload_all(self) -> int:
        keys = self.loaded()
        return sum(self.unload(*k) for k in keys)

    def _evict(self, keep: ModelKey) -> None:
        while True:
            with self._lock:
                keys = [k for k in self._models if k != keep]
                too_many = self.max_models is not None and len(self._models) > self.max_models
                used = sum(m.size or 0 for m in self._models.values())
                too_big = self.memory_budget is not None and used > self.memory_budget
                if not keys or not (too_many or too_big):
                    return
                victim = keys[0]  # least recently used
            self.unload(*victim)


def _runs_on(model: Any, asked: str) -> str | None:
    """The device a loaded model runs on: its ``device`` attribute (a name or a torch device),
    else `asked` unless that is "auto" (the engine chose, and did not say)."""
    chosen = getattr(model, "device", None)
    if chosen is not None and str(chosen) and str(chosen) != "auto":
        return str(chosen)
    return None if asked == "auto" else asked
