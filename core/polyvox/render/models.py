"""The model manager: one loaded instance per (engine, model, device) in a process.

A model whose files were replaced since it was loaded (its content fingerprint, as the render
planned it, differs) is loaded again: a long-running host keys its segments by the new
content, so the audio it caches under those keys must come from the new weights.

Shared by every render, thread and API call; concurrent requests for one model load it
once; least-recently-used models are unloaded past a count or memory budget (in all, or per
device), and models idle past their keep-alive are unloaded (`polyvox.render.residency`). A
model in use is never unloaded: renders and calls hold it (`hold`, `lease`) and an unload
asked for meanwhile waits for the last of them to let go. Voice
conditioning is prepared once per (model, voice content, voice-relevant parameters) and
kept beside the model, never on it.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from polyvox.errors import ModelError, PluginError, PolyvoxError
from polyvox.events import Event, ModelLoaded, ModelLoading, ModelUnloaded
from polyvox.render.fairlock import FairLock
from polyvox.render.residency import KeepAlive, Measure, device_name, reported_size

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
    #: The device it runs on, as its budget counts it (``cpu``, ``cuda:0``...).
    budget_device: str = "cpu"
    #: When it was last used (time.monotonic), for keep-alive and the least recently used.
    last_used: float = attrs.field(factory=time.monotonic)


@attrs.frozen
class Resident:
    """A loaded model as /health and /metrics show it."""

    engine: str
    model: str
    device: str
    runs_on: str
    size: int | None
    idle_seconds: float
    in_use: int
    keep_alive: float | None


class ModelManager:
    def __init__(
        self,
        hook: Any,
        emit: Callable[[Event], None],
        max_models: int | None = None,
        memory_budget: int | None = None,
        weights: Any = None,
        keep_alive: KeepAlive | None = None,
        max_memory: Mapping[str, int] | None = None,
    ):
        self._hook = hook
        #: The kernel's weights service: missing files are fetched (or refused) before a load.
        self._weights = weights
        self._emit = emit
        self.max_models = max_models
        self.memory_budget = memory_budget
        #: Seconds an unused model stays loaded (None: for good).
        self.keep_alive = keep_alive or KeepAlive()
        #: Bytes loaded models may hold, per device (``cpu``, ``cuda:0``).
        self.max_memory = {device_name(d): n for d, n in (max_memory or {}).items()}
        self._held: Counter[ModelKey] = Counter()  # renders holding each model
        self._calls: Counter[ModelKey] = Counter()  # engine calls using each model now
        self._unload_when_free: dict[ModelKey, str] = {}  # unloads asked for while in use, and why
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()
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
                self._drop(key, "replaced")
            files = self._weights.ensure(engine, model) if self._weights is not None else None
            self._emit(ModelLoading(engine, model, device))
            start = time.perf_counter()
            measure = Measure(device)
            try:
                with measure:
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
            runs_on = _runs_on(obj, device)
            size = reported_size(size, obj)
            entry = LoadedModel(key, obj, size if size is not None else measure.bytes, fingerprint,
                                budget_device=device_name(runs_on or device))
            took = time.perf_counter() - start
            with self._lock:
                self._models[key] = entry
                self._loading.pop(key, None)
                self.loads += 1
                self.load_seconds += took
            self._emit(ModelLoaded(engine, model, device, took, runs_on))
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
        entry.last_used = time.monotonic()
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

    def unload(self, engine: str, model: str, device: str, reason: str = "asked") -> bool:
        """Unload the model now, or, while an engine call uses it, as soon as the call ends.
        True if it was loaded."""
        key = (engine, model, device)
        with self._lock:
            if key not in self._models:
                return False
            if self._calls[key]:
                self._unload_when_free[key] = reason
                return True
        return self._drop(key, reason)

    def _drop(self, key: ModelKey, reason: str) -> bool:
        with self._lock:
            entry = self._models.pop(key, None)
            self._unload_when_free.pop(key, None)
        if entry is None:
            return False
        del entry
        gc.collect()
        self._emit(ModelUnloaded(*key, reason=reason))
        return True

    def unload_all(self) -> int:
        keys = self.loaded()
        return sum(self.unload(*k) for k in keys)

    # -- who uses what -------------------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self, keys: Iterable[ModelKey]) -> Iterator[None]:
        """Count the block as a user of the models under `keys` (loaded or not yet): a render
        holds every model it plans to use, from its first segment to its last, so none is
        unloaded for idling in between (a budget may still unload one between two calls)."""
        held = list(dict.fromkeys(keys))
        with self._lock:
            self._held.update(held)
        try:
            yield
        finally:
            self._release(held, self._held)

    @contextlib.contextmanager
    def lease(self, engine: str, model: str, device: str, fingerprint: str | None = None) -> Iterator[LoadedModel]:
        """The loaded model (as `get`), never unloaded while the block runs (an engine call)."""
        key = (engine, model, device)
        with self._lock:
            self._calls[key] += 1
        try:
            yield self.get(engine, model, device, fingerprint)
        finally:
            self._release([key], self._calls)

    def _in_use(self, key: ModelKey) -> int:
        return self._held[key] + self._calls[key]

    def _release(self, keys: list[ModelKey], counter: Counter[ModelKey]) -> None:
        now = time.monotonic()
        free: list[tuple[ModelKey, str]] = []
        with self._lock:
            for key in keys:
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]
                entry = self._models.get(key)
                if entry is None:
                    continue
                entry.last_used = now
                if key in self._unload_when_free and not self._calls[key]:
                    free.append((key, self._unload_when_free[key]))
                elif not self._in_use(key) and self.keep_alive.seconds(key[0], key[1]) == 0:
                    free.append((key, "idle"))
        for key, reason in free:
            self._drop(key, reason)

    def residents(self) -> list[Resident]:
        """What is loaded, least recently used first."""
        now = time.monotonic()
        with self._lock:
            return [Resident(e.key[0], e.key[1], e.key[2], e.budget_device, e.size,
                             0.0 if self._in_use(k) else now - e.last_used, self._in_use(k),
                             self.keep_alive.seconds(k[0], k[1])) for k, e in self._models.items()]

    # -- idle models -----------------------------------------------------------------------------
    def reap(self, now: float | None = None) -> int:
        """Unload every model unused for longer than its keep-alive; how many went."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [k for k, e in self._models.items() if not self._in_use(k)
                    and (ttl := self.keep_alive.seconds(k[0], k[1])) is not None and now - e.last_used >= ttl]
        return sum(self._drop(k, "idle") for k in idle)

    def start_reaper(self, interval: float | None = None) -> None:
        """Reap in a daemon thread every `interval` seconds (default: a quarter of the shortest
        keep-alive, between 0.05 and 5 s). Nothing to do when no model is ever unloaded for idling."""
        if not self.keep_alive.ever or self._reaper is not None:
            return
        times = [t for t in (self.keep_alive.default, *self.keep_alive.only.values()) if t]
        every = interval or min(5.0, max(0.05, min(times, default=1.0) / 4))

        ref, stop = weakref.ref(self), self._stop

        def run() -> None:  # holds the manager only while it reaps: a kernel let go is collected
            while not stop.wait(every):
                manager = ref()
                if manager is None:
                    return
                manager.reap()
                del manager

        self._reaper = threading.Thread(target=run, name="polyvox-keep-alive", daemon=True)
        self._reaper.start()

    def stop_reaper(self) -> None:
        self._stop.set()

    def _evict(self, keep: ModelKey) -> None:
        while True:
            with self._lock:
                keys = [k for k in self._models if k != keep and not self._calls[k]]
                victim, reason = self._victim(keys)
                if victim is None:
                    return
            self._drop(victim, reason)

    def _victim(self, keys: list[ModelKey]) -> tuple[ModelKey | None, str]:
        """The least recently used model of `keys` to unload, and why (call under the lock)."""
        if not keys:
            return None, ""
        by_use = sorted(keys, key=lambda k: self._models[k].last_used)
        if self.max_models is not None and len(self._models) > self.max_models:
            return by_use[0], "count"
        if self.memory_budget is not None and sum(m.size or 0 for m in self._models.values()) > self.memory_budget:
            return by_use[0], "memory"
        for device, budget in self.max_memory.items():
            on = [m for m in self._models.values() if m.budget_device == device]
            if sum(m.size or 0 for m in on) > budget:
                candidates = [k for k in by_use if self._models[k].budget_device == device]
                if candidates:
                    return candidates[0], "memory"
        return None, ""


def _runs_on(model: Any, asked: str) -> str | None:
    """The device a loaded model runs on: its ``device`` attribute (a name or a torch device),
    else `asked` unless that is "auto" (the engine chose, and did not say)."""
    chosen = getattr(model, "device", None)
    if chosen is not None and str(chosen) and str(chosen) != "auto":
        return str(chosen)
    return None if asked == "auto" else asked
