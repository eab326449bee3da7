"""The HTTP connections: uvicorn, with bounds on what idle and slow clients can hold.

uvicorn closes a connection that idles after a response (`timeout_keep_alive`), but keeps a
fresh connection that never sends a request, and one whose headers trickle in a byte at a
time, for as long as the client likes; and its connection cap (`limit_concurrency`) answers
in plain text. The protocol here gives every request's headers a deadline, from the moment
the connection opens or the previous response ends (`--timeout-headers`), and answers a
request over `--max-connections` with a 503 in OpenAI's shape. Bodies get their deadline in
the gate (`polyvox.serve.gate`); headers are limited to `MAX_HEADER_BYTES`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from polyvox.serve.config import ServeConfig
from polyvox.serve.errors import ApiError
from polyvox.serve.gate import refuse

#: The most a request line and its headers may take (h11's bound on an incomplete event):
#: beyond it the client gets a 400 and the connection is closed.
MAX_HEADER_BYTES = 16 * 1024


def uvicorn_config(app: Any, config: ServeConfig, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for `app` served as `config` says (`options`: log level and such)."""
    protocol = type("PolyvoxHTTP", (_Bounded,), {"header_timeout": config.header_timeout,
                                                 "max_connections": config.max_connections})
    return uvicorn.Config(app, host=config.host, port=config.port, http=protocol,
                          timeout_keep_alive=config.keep_alive_timeout,  # type: ignore[arg-type]
                          h11_max_incomplete_event_size=MAX_HEADER_BYTES, **options)


class _Bounded(H11Protocol):
    header_timeout: float
    max_connections: int

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._served = self.app
        self._headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request's headers are in
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_headers()  # the next request's (a pipelined one may be in already)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        # uvicorn reads `self.app` when a request's headers are complete: over the cap (this
        # connection counted), that request is answered 503 and the connection closed
        self.app = _busy if len(self.connections) > self.max_connections else self._served
        super().handle_events()

    def _await_headers(self) -> None:
        self._stop_waiting()
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._headers_due = self.loop.call_later(self.header_timeout, self._headers_late)

    def _stop_waiting(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _headers_late(self) -> None:
        self._headers_due = None
        if self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
            self.timeout_keep_alive_handler()  # uvicorn's own way to close an idle connection


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    await refuse(send, ApiError(503, "the server has as many connections open as it allows (--max-connections): "
                                     "retry shortly", code="too_many_connections", headers={"Retry-After": "1"}))
