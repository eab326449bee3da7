"""Errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, with the
status a client can act on. Every failure a request can cause becomes one of these; anything
else is logged and answered as a 500 without a traceback, and the server lives on.

The `type` follows from the status alone (`TYPES`), so two errors of one status never
disagree: clients that branch on `type` (or on the status, as OpenAI's own clients do) see
one meaning per status. The `code` says which error of that status it is.
"""

from __future__ import annotations

import logging
from typing import Any

from polyvox import errors

log = logging.getLogger("polyvox.serve")


#: The error `type` of each status that has its own; any other 4xx is `invalid_request_error`
#: (the client's request is wrong) and any 5xx `server_error`.
TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def error_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    return TYPES.get(status, "invalid_request_error")


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, type: str | None = None, param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None):
        if type is not None and type != error_type(status):  # a programming error: caught by any test
            raise ValueError(f"an error of status {status} has the type {error_type(status)!r}, not {type!r}")
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = error_type(status)
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, param=param, code=code)


def not_found(message: str, param: str | None, code: str) -> ApiError:
    return ApiError(404, message, param=param, code=code)


def conflict(message: str, param: str | None, code: str) -> ApiError:
    return ApiError(409, message, param=param, code=code)


def too_large(message: str, param: str | None = None) -> ApiError:
    return ApiError(413, message, param=param, code="too_large")


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key",
                    headers={"WWW-Authenticate": "Bearer"})


def queue_full(retry_after: int) -> ApiError:
    return ApiError(429, "the server is busy: too many requests are rendering or waiting; retry shortly",
                    code="queue_full", headers={"Retry-After": str(retry_after)})


def from_polyvox(exc: errors.PolyvoxError) -> ApiError:
    """The API error for a kernel error: what the client asked for is wrong (400/404), or an
    engine cannot serve it now (503)."""
    message = str(exc)
    if isinstance(exc, errors.UnknownEngineError):
        return not_found(message, "model", "model_not_found")
    if isinstance(exc, errors.VoiceError):
        return bad_request(message, "voice")
    if isinstance(exc, errors.UnsupportedScriptError):  # the text is what the engine cannot speak
        return bad_request(message, "input", "unsupported_language")
    if isinstance(exc, errors.UnsupportedLanguageError):
        return bad_request(message, "language", "unsupported_language")
    if isinstance(exc, errors.EmptyTextError):
        return bad_request(message, "input", "empty_input")
    if isinstance(exc, (errors.ParameterError, errors.ScriptError)):
        return bad_request(message, None)
    if isinstance(exc, (errors.ModelError, errors.PluginError, errors.SegmentError)):
        return ApiError(503, message, code="engine_unavailable")
    return bad_request(message)
