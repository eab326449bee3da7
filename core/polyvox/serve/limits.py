"""Bounds on what a client can make the server hold: the request body (an ASGI middleware that
stops reading past the limit, announced or not) and the number of speech requests rendering or
waiting at once."""

from __future__ import annotations

import json
import threading
from typing import Any

from polyvox.serve.errors import queue_full, too_large


class BodyLimit:
    """Answers 413 to a body over `limit` bytes, by Content-Length or while it arrives."""

    def __init__(self, app: Any, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", ())).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _refuse(send, self.limit)
        if length is not None:
            return await self.app(scope, receive, send)
        # no length announced (chunked): read it here, up to the limit, then hand it on
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                return await _refuse(send, self.limit)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Any, limit: int) -> None:
    error = too_large(f"the request body is larger than the limit of {limit} bytes")
    body = json.dumps(error.body()).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class Queue:
    """Counts speech requests in flight; `enter` refuses with 429 past `depth`."""

    def __init__(self, depth: int, on_change: Any = None):
        self.depth = depth
        self._count = 0
        self._lock = threading.Lock()
        self._on_change = on_change

    @property
    def count(self) -> int:
        return self._count

    def enter(self) -> None:
        with self._lock:
            if self._count >= self.depth:
                raise queue_full(retry_after=1)
            self._count += 1
            self._changed()

    def leave(self) -> None:
        with self._lock:
            self._count -= 1
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self._count)
