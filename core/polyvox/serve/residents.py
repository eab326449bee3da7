"""Which models the server holds, and asking it to load or unload one.

``POST /v1/models/{id}/load`` loads a model now (so the first request does not wait for it);
``POST /v1/models/{id}/unload`` lets it go (at once, or when the requests using it finish).
The id is what a speech request's ``model`` takes: an engine, ``engine:model`` or an alias.
Both need the API key like every route but /health. `/health` lists what is loaded and
/metrics gauges it (`ResidentCollector`): size, idle seconds, requests using it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
from fastapi import FastAPI

from polyvox.errors import PolyvoxError
from polyvox.serve.errors import bad_request, from_polyvox


def install(app: FastAPI, service: Any) -> None:
    kernel = service.kernel

    def resolve(model_id: str) -> tuple[str, str | None]:
        engine, model = service.resolve_model(model_id, None)
        if engine is None:
            raise bad_request(f"model {model_id[:100]!r} leaves the engine to each request's language: "
                              "load an engine or ENGINE:MODEL (GET /v1/models lists them)", "model")
        return engine, model

    @app.post("/v1/models/{model_id:path}/load")
    async def load(model_id: str) -> Any:
        engine, model = resolve(model_id)
        began = time.perf_counter()
        try:
            key = await anyio.to_thread.run_sync(lambda: kernel.load(engine, model))
        except PolyvoxError as exc:
            raise from_polyvox(exc) from None
        resident = next((r for r in kernel.models.residents() if (r.engine, r.model, r.device) == key), None)
        return {"id": model_id, "engine": key[0], "model": key[1], "device": key[2],
                "loaded": resident is not None, "seconds": round(time.perf_counter() - began, 3),
                **(describe(resident) if resident is not None else {})}

    @app.post("/v1/models/{model_id:path}/unload")
    async def unload(model_id: str) -> Any:
        engine, model = resolve(model_id)
        chosen = [r for r in kernel.models.residents() if r.engine == engine and model in (None, r.model)]
        for r in chosen:
            await anyio.to_thread.run_sync(lambda r=r: kernel.models.unload(r.engine, r.model, r.device))
        return {"id": model_id, "unloaded": [f"{r.engine}:{r.model}" for r in chosen],
                "deferred": [f"{r.engine}:{r.model}" for r in chosen if r.in_use]}


def describe(resident: Any) -> dict[str, Any]:
    """A loaded model as /health lists it."""
    return {"engine": resident.engine, "model": resident.model, "device": resident.runs_on,
            "bytes": resident.size, "idle_seconds": round(resident.idle_seconds, 3), "in_use": resident.in_use,
            "keep_alive_seconds": resident.keep_alive}


#: Seconds the cache's figures on /metrics are reused: counting a large cache reads every key.
CACHE_STATS_SECONDS = 30.0


class ResidentCollector:
    """Prometheus gauges of the loaded models, read when /metrics is scraped, and of the cache
    (counted at most every `CACHE_STATS_SECONDS`)."""

    def __init__(self, kernel: Any):
        self.kernel = kernel
        self._stats: tuple[float, Any] | None = None
        self._counting = threading.Lock()  # one count at a time; other scrapes take the last figures

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        labels = ["engine", "model", "device"]
        size = GaugeMetricFamily("polyvox_model_bytes", "memory a loaded model holds (as its engine says, "
                                 "else measured at load)", labels=labels)
        idle = GaugeMetricFamily("polyvox_model_idle_seconds", "seconds since a loaded model was last used "
                                 "(0 while in use)", labels=labels)
        users = GaugeMetricFamily("polyvox_model_in_use", "renders using a loaded model now", labels=labels)
        for r in self.kernel.models.residents():
            values = [r.engine, r.model, r.runs_on]
            size.add_metric(values, float(r.size or 0))
            idle.add_metric(values, r.idle_seconds)
            users.add_metric(values, float(r.in_use))
        yield from (size, idle, users)
        stats = self._cache_stats()
        if stats is not None:
            for name, help_, value in (("entries", "audio entries in the cache", stats.entries),
                                       ("bytes", "bytes of audio in the cache", stats.size_bytes),
                                       ("hits", "cache hits of every render (a shared cache: of every server)",
                                        stats.total_hits),
                                       ("misses", "cache misses of every render", stats.total_misses)):
                if value is not None:
                    yield GaugeMetricFamily(f"polyvox_cache_{name}", help_, value=float(value))

    def _cache_stats(self) -> Any:
        now = time.monotonic()
        last = self._stats[1] if self._stats is not None else None
        if self._stats is not None and now - self._stats[0] < CACHE_STATS_SECONDS:
            return last
        if not self._counting.acquire(blocking=False):  # a count under way (a large or slow store)
            return last
        try:
            stats = self.kernel.cache_stats()
        except Exception:  # noqa: BLE001 - a PolyvoxError, or a shared store failing mid-count: no figures
            stats = None
        finally:
            self._counting.release()
        self._stats = (time.monotonic(), stats)
        return stats
