"""The studio's models: each engine's models and whether their weights are here, and a pull
of one model's weights with its progress as server-sent events (what `polyvox models pull`
does). A pull is asked for by a person with the key; only models an engine declares can be
pulled, one pull at a time per server."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio

from polyvox import Kernel
from polyvox.errors import PolyvoxError
from polyvox.events import DownloadProgress
from polyvox.serve.errors import ApiError, from_polyvox, not_found
from polyvox.weights import human_size


def model_list(kernel: Kernel) -> list[dict[str, Any]]:
    """Every engine's models: state (present, missing, partial, engine-managed) and size."""
    out = []
    for spec in kernel.engines():
        for model in spec.models or (spec.default_model,):
            try:
                declared = kernel.weights.declared(spec.name, model)
                status = kernel.weights.status(spec.name, model)
            except PolyvoxError as exc:  # one engine's broken declaration must not hide the others
                out.append({"engine": spec.name, "model": model, "state": "error", "size": "", "error": str(exc)})
                continue
            size = declared.size if declared is not None else None
            out.append({"engine": spec.name, "model": model,
                        "state": status.state if status is not None else "engine-managed",
                        "size": human_size(size) if size else "", "license": declared.license if declared else ""})
    return out


class Puller:
    """One pull at a time: its progress as SSE events ``progress`` (file, bytes done, total),
    then ``pulled`` or ``error``."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self._busy = threading.Lock()

    def check(self, engine: str, model: str) -> None:
        names = {spec.name: spec for spec in self.kernel.engines()}
        spec = names.get(engine)
        if spec is None or model not in (spec.models or (spec.default_model,)):
            raise not_found(f"unknown model {engine[:50]}:{model[:100]}: GET /studio/api/models lists them", "model",
                            "model_not_found")
        if self.kernel.weights.declared(engine, model) is None:
            raise ApiError(400, f"{engine} model {model!r} declares no weights to fetch (its engine finds its own "
                                "files)", param="model", code="invalid_value")

    def start(self, engine: str, model: str) -> AsyncIterator[bytes]:
        """Start pulling (in a thread of its own, which runs to the end even if the client
        leaves: a pull resumes, but need not start over) and return its events."""
        if not self._busy.acquire(blocking=False):
            raise ApiError(409, "a model is being pulled already: wait for it", code="pull_running")
        progress: list[dict[str, Any]] = []
        result: dict[str, Any] = {}
        finished = threading.Event()

        def note(event: Any) -> None:
            if isinstance(event, DownloadProgress) and (event.engine, event.model) == (engine, model):
                progress.append({"type": "progress", "file": event.filename, "done": event.done,
                                 "total": event.total})

        def pull() -> None:
            unsubscribe = self.kernel.subscribe(note)
            try:
                files = self.kernel.weights.pull(engine, model)
                result.update(type="pulled", engine=engine, model=model, files=len(files.all()))
            except PolyvoxError as exc:
                result.update(type="error", **from_polyvox(exc).body())
            except Exception as exc:  # noqa: BLE001 (a network error the fetcher did not name: said, not raised)
                result.update(type="error", error={"message": f"the pull failed: {exc}", "type": "server_error",
                                                   "param": None, "code": "pull_failed"})
            finally:
                unsubscribe()
                self._busy.release()
                finished.set()

        threading.Thread(target=pull, name=f"polyvox-pull-{engine}", daemon=True).start()
        return _events(progress, result, finished)


async def _events(progress: list[dict[str, Any]], result: dict[str, Any],
                  finished: threading.Event) -> AsyncIterator[bytes]:
    last = None
    while True:
        done = finished.is_set()
        latest = None
        while progress:  # the latest figure is enough
            latest = progress.pop(0)
        if latest is not None:
            if latest != last:
                last = latest
                yield _sse(latest)
        if done:
            break
        await anyio.sleep(0.2)
    yield _sse(result)


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()
