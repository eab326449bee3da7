"""Every error the server gives has OpenAI's shape and the `type` and `code` its status means,
however it arises (a route, FastAPI's validation, the router, the key check), and every route
asks for the key: a table of the app's own routes, so a new route cannot be forgotten."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

import httpx
import numpy as np
import pytest
import soundfile as sf
from conftest import BatchTone, ToneEngine
from servekit import running

import polyvox
from polyvox.serve.errors import ApiError, error_type

KEY = "errors-key-4567890123"
AUTH = {"Authorization": f"Bearer {KEY}"}
SPEAK = "/v1/audio/speech"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("errors")
    kernel = polyvox.Kernel(cache_dir=tmp / "cache")
    kernel.register(ToneEngine(name="failtone", fail_on="Boom"))
    hold = BatchTone(name="holdtone")
    kernel.register(hold)
    with running(kernel, tmp, api_keys=(KEY,), max_queue=1, cors_origins=("https://reader.example",)) as srv:
        srv.hold = hold
        yield srv


def _post(server, body: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{server.url}{SPEAK}", json=body, headers=headers if headers is not None else AUTH,
                      timeout=30)


def _queue_full(server) -> httpx.Response:
    """A second speech request while one holds the only queue slot (its engine call waits on a gate)."""
    engine = server.hold
    engine.holding.clear()
    engine.gate.clear()
    holder = threading.Thread(target=_post, args=(server, {"model": "holdtone", "input": "Please hold."}))
    holder.start()
    try:
        assert engine.holding.wait(20)
        return _post(server, {"model": "template", "input": "Hi."})
    finally:
        engine.gate.set()
        holder.join(30)


def _upload(server, name: str, freq: float = 200.0) -> httpx.Response:
    t = np.arange(16000) / 16000
    wav = io.BytesIO()
    sf.write(wav, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000, format="WAV")
    return httpx.post(f"{server.url}/v1/audio/voices", headers=AUTH, timeout=30, data={"name": name},
                      files={"file": ("v.wav", wav.getvalue(), "audio/wav")})


def _uploaded_twice(server) -> httpx.Response:
    assert _upload(server, "Once", 210).status_code == 201
    return _upload(server, "Twice", 210)


#: (status, type, code, how to cause it): each error the API gives, caused the way a client would.
ERRORS: list[tuple[int, str, str, Callable[..., httpx.Response]]] = [
    (400, "invalid_request_error", "invalid_value", lambda s: _post(s, {"model": "template", "input": "Hi",
                                                                        "speed": 9})),
    # a switch is true or false and a seed a number: "yes" turned timestamps on, "5" was seed 5
    (400, "invalid_request_error", "invalid_value", lambda s: _post(s, {"model": "template", "input": "Hi",
                                                                        "timestamps": "yes"})),
    (400, "invalid_request_error", "invalid_value", lambda s: _post(s, {"model": "template", "input": "Hi",
                                                                        "seed": "5"})),
    (400, "invalid_request_error", "invalid_json",
     lambda s: httpx.post(f"{s.url}{SPEAK}", content=b"{", timeout=10,
                          headers={**AUTH, "content-type": "application/json"})),
    (400, "invalid_request_error", "empty_input", lambda s: _post(s, {"model": "template", "input": " "})),
    (400, "invalid_request_error", "unsupported_language",
     lambda s: _post(s, {"model": "template", "input": "Hi", "language": "xx"})),
    (400, "invalid_request_error", "invalid_audio",
     lambda s: httpx.post(f"{s.url}/v1/audio/voices", headers=AUTH, timeout=10, data={"name": "Nope"},
                          files={"file": ("x.wav", b"not audio" * 100, "audio/wav")})),
    (401, "authentication_error", "invalid_api_key", lambda s: _post(s, {"model": "template", "input": "Hi"}, {})),
    (401, "authentication_error", "invalid_api_key",
     lambda s: _post(s, {"model": "template", "input": "Hi"}, {"Authorization": "Bearer wrong"})),
    (403, "permission_error", "origin_not_allowed",
     lambda s: _post(s, {"model": "template", "input": "Hi"}, {**AUTH, "Origin": "https://evil.example"})),
    (404, "invalid_request_error", "model_not_found", lambda s: _post(s, {"model": "nope", "input": "Hi"})),
    (404, "invalid_request_error", "model_not_found",
     lambda s: httpx.get(f"{s.url}/v1/models/nope", headers=AUTH, timeout=10)),
    (404, "invalid_request_error", "voice_not_found",
     lambda s: _post(s, {"model": "template", "input": "Hi", "voice": "zork"})),
    (404, "invalid_request_error", "voice_not_found",
     lambda s: httpx.delete(f"{s.url}/v1/audio/voices/0123456789abcdef", headers=AUTH, timeout=10)),
    (404, "invalid_request_error", "not_found", lambda s: httpx.get(f"{s.url}/v1/nothing", headers=AUTH, timeout=10)),
    (405, "invalid_request_error", "method_not_allowed",
     lambda s: httpx.get(f"{s.url}{SPEAK}", headers=AUTH, timeout=10)),
    (409, "invalid_request_error", "voice_name_reserved", lambda s: _upload(s, "alloy")),
    (409, "invalid_request_error", "voice_exists", _uploaded_twice),
    (413, "invalid_request_error", "too_large", lambda s: _post(s, {"model": "template", "input": "x" * 5000})),
    (413, "invalid_request_error", "too_large",
     lambda s: httpx.post(f"{s.url}{SPEAK}", content=b" " * (17 * 1024 * 1024), timeout=30,
                          headers={**AUTH, "content-type": "application/json"})),
    (429, "rate_limit_error", "queue_full", _queue_full),
    (503, "server_error", "engine_unavailable", lambda s: _post(s, {"model": "failtone", "input": "Boom."})),
]


@pytest.mark.parametrize(("status", "type_", "code", "cause"), ERRORS,
                         ids=[f"{status}-{code}-{n}" for n, (status, _, code, _) in enumerate(ERRORS)])
def test_each_error_has_its_statuss_type_and_its_code(server, status, type_, code, cause):
    r = cause(server)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert (error["type"], error["code"]) == (type_, code)
    assert "Traceback" not in r.text


def test_a_type_that_contradicts_the_status_is_refused_at_construction():
    assert [error_type(s) for s in (400, 401, 403, 404, 409, 413, 429, 500, 503)] == [
        "invalid_request_error", "authentication_error", "permission_error", "invalid_request_error",
        "invalid_request_error", "invalid_request_error", "rate_limit_error", "server_error", "server_error"]
    assert ApiError(401, "no", type="authentication_error").type == "authentication_error"
    with pytest.raises(ValueError, match="status 404 has the type 'invalid_request_error'"):
        ApiError(404, "no", type="not_found_error")
