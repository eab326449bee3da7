"""The app's exception handlers: `ApiError`, `PolyvoxError`, request validation, Starlette's own
HTTP errors and anything unexpected all answer in OpenAI's error shape
(``{"error": {"message", "type", "param", "code"}}``), never as a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from polyvox.errors import PolyvoxError
from polyvox.serve.errors import ApiError, bad_request, from_polyvox

log = logging.getLogger("polyvox.serve")


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can raise, answered in OpenAI's error shape."""
    def answer(error: ApiError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Any:
        return answer(exc)

    @app.exception_handler(PolyvoxError)
    async def polyvox_error(request: Request, exc: PolyvoxError) -> Any:
        return answer(from_polyvox(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Any:
        problem = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in problem.get("loc", ())]
        if problem.get("type") == "json_invalid":
            return answer(bad_request("the request body is not valid JSON", None, "invalid_json"))
        if loc == ["body"] and request.method == "POST" and "json" not in request.headers.get("content-type", ""):
            # FastAPI reads JSON only when the client says it is JSON (curl -d says form data)
            return answer(bad_request("the request body must be a JSON object sent with the header "
                                      "'Content-Type: application/json'", None, "invalid_json"))
        if loc == ["body"]:
            return answer(bad_request("the request body must be a JSON object such as "
                                      '{"model": "tts-1", "input": "Hello.", "voice": "alloy"}', None, "invalid_json"))
        if loc[:2] == ["body", "voice"]:  # the union's branch names (str, VoiceId) mean nothing to a client
            return answer(bad_request('voice: give a voice name or {"id": "VOICE"}', "voice"))
        field = ".".join(p for p in loc if p != "body") or None
        message = f"{field or 'body'}: {problem.get('msg', 'invalid value')}"
        return answer(bad_request(message, field))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        message = str(exc.detail)
        if exc.status_code == 400:  # FastAPI could not read the body at all (bytes that are not UTF-8)
            code, message = "invalid_json", f"the request body could not be read as JSON text: {message}"
        # 405 carries Allow (the methods the route has), as HTTP requires
        return answer(ApiError(exc.status_code, message, code=code, headers=dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Any:
        log.exception("internal error")
        return answer(ApiError(500, f"internal error ({type(exc).__name__})", type="server_error",
                               code="internal_error"))
