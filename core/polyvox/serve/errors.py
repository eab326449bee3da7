"""Errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, with the
status a client can act on. Every failure a request can cause becomes one of these; anything
else is logged and answered as a 500 without a traceback, and the server lives on."""

from __future__ import annotations

import logging
from typing import Any

from polyvox import errors

log = logging.getLogger("polyvox.serve")


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, param=param, code=code)


def not_found(message: str, param: str | None, code: str) -> ApiError:
    return ApiError(404, message, param=param, code=code)


def too_large(message: str, param: str | None = None) -> ApiError:
    return ApiError(413, message, param=param, code="too_large")


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, type="authentication_error", code="invalid_api_key",
                    headers={"WWW-Authenticate": "Bearer"})


def queue_full(retry_after: int) -> ApiError:
    return ApiError(429, "the server is busy: too many requests are rendering or waiting; retry shortly",
                    type="rate_limit_error", code="queue_full", headers={"Retry-After": str(retry_after)})


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
        return ApiError(503, message, type="server_error", code="engine_unavailable")
    return bad_request(message)
