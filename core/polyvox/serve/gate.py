"""What every HTTP request passes before the application sees it: the origin and the key,
checked from the headers alone, then a body bound and a deadline chosen by route. A client
without the key, or one that sends more than its route needs, or sends it too slowly, costs
the server its headers and nothing more: no body is buffered, no JSON parsed, no form read.

A plain ASGI wrapper (Starlette's middleware class would buffer streamed responses and hide
a client's disconnect). Only `EXEMPT` paths and browsers' CORS preflights pass without a key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anyio
from starlette.datastructures import Headers
from starlette.routing import Match

from polyvox.serve.auth import check_bearer, check_origin
from polyvox.serve.config import ServeConfig
from polyvox.serve.errors import ApiError, too_large

#: Paths anyone may call without a key (uptime monitors and load balancers probe them; the
#: studio's page and its files hold nothing: its API asks for the key like every route).
EXEMPT = frozenset({"/health", "/"})
EXEMPT_PREFIX = "/studio/static/"

#: The body a route without its own bound may send (its JSON, if any, is a few fields).
SMALL_BODY = 64 * 1024


def body_limits(config: ServeConfig) -> dict[tuple[str, str], int]:
    """The largest body each route needs, by (method, path): a speech request is its JSON
    fields and `input`, whose characters JSON may escape as up to 12 bytes each (a UTF-16
    pair, ``\\ud83d\\ude00``); a voice upload is an audio file."""
    from polyvox.serve.studio import studio_body_limits

    return {("POST", "/v1/audio/speech"): SMALL_BODY + 12 * config.max_input_chars,
            ("POST", "/dev/captioned_speech"): SMALL_BODY + 12 * config.max_input_chars,
            ("POST", "/v1/audio/voices"): config.max_body_bytes,
            **studio_body_limits(config.max_input_chars, config.max_body_bytes)}


class Gate:
    """Refuses with 401/403 before reading the body (unless the path is exempt), 413 by
    Content-Length or as the body arrives past its route's bound, and 408 when the body has
    not arrived within `config.body_timeout` seconds; otherwise hands the app the whole body."""

    def __init__(self, app: Any, config: ServeConfig):
        self.app = app
        self.state = app.state
        self.routes = app.routes
        self.config = config
        self.limits: Mapping[tuple[str, str], int] = body_limits(config)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        limit = self.limits.get((scope["method"], scope["path"]), SMALL_BODY)
        try:
            if not _exempt(scope, headers):
                check_origin(headers.get("origin"), self.config.cors_origins, headers.get("host"),
                             keyed=bool(self.config.api_keys))
                check_bearer(headers.get("authorization"), self.config.api_keys)
            body = await _read(receive, headers, limit, self.config.body_timeout)
        except ApiError as error:
            scope["route"] = self._route(scope)  # the metrics count a refusal under its route
            return await refuse(send, error)
        if body is None:  # the client left while sending
            return
        await self.app(scope, _replay(body, receive), send)

    def _route(self, scope: Any) -> Any:
        return next((r for r in self.routes if r.matches(scope)[0] is not Match.NONE), None)


def _exempt(scope: Any, headers: Headers) -> bool:
    if scope["method"] in ("GET", "HEAD") and (scope["path"] in EXEMPT or scope["path"].startswith(EXEMPT_PREFIX)):
        return True
    # a browser's CORS preflight carries no credentials by design; it is answered with headers
    # only (by the CORS middleware when --cors-origin is given), and the request it precedes
    # still needs the key
    return scope["method"] == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


async def _read(receive: Any, headers: Headers, limit: int, timeout: float) -> bytes | None:
    """The whole body (None if the client left), refused past `limit` bytes or `timeout` s."""
    length = headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise too_large(f"the request body is {length[:20]} bytes: the limit for this route is {limit} bytes")
    body = bytearray()
    try:
        with anyio.fail_after(timeout):
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return None
                body += message.get("body", b"")
                if len(body) > limit:
                    raise too_large(f"the request body is larger than the limit for this route of {limit} bytes")
                if not message.get("more_body", False):
                    return bytes(body)
    except TimeoutError:
        raise ApiError(408, f"the request body did not arrive within {timeout:g} s (--timeout-body)",
                       code="request_timeout") from None


def _replay(body: bytes, receive: Any) -> Any:
    """A `receive` that gives the app the body read here, then the connection's own messages
    (a disconnect while a response streams)."""
    pending: list[bytes] = [body]

    async def replay() -> Any:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


async def refuse(send: Any, error: ApiError) -> None:
    """Answer `error` and close the connection: the body was not read, so the connection cannot
    carry another request."""
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
