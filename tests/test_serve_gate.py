"""The gate in front of every route: the key is checked from the headers before any body is
read, on every route of the app (a table built from the app's own routes, so a new route
cannot be forgotten), and each route's body is bounded by what that route needs and by time.
Raw sockets on 127.0.0.1 show what the server does before the client has sent its body."""

from __future__ import annotations

import io
import json
import re
import socket
import time

import httpx
import numpy as np
import pytest
import soundfile as sf
from servekit import running

import polyvox

KEY = "gate-key-7890123456"
AUTH = {"Authorization": f"Bearer {KEY}"}

#: Routes anyone may call without a key (the studio's page and files hold nothing); every other
#: route of the app must answer 401.
OPEN = {"/health", "/", "/studio/static/{name}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gate")
    kernel = polyvox.Kernel(cache_dir=tmp / "cache")
    with running(kernel, tmp, api_keys=(KEY,), body_timeout=0.5) as srv:
        yield srv


def _routes(server) -> list[tuple[str, str]]:
    app = server.app
    while not hasattr(app, "routes"):  # the wrappers around FastAPI
        app = app.app
    out = [(method, route.path) for route in app.routes for method in sorted(route.methods or ())]
    assert len({path for _, path in out}) >= 7, out  # the table really is the app's routes
    return out


def _concrete(path: str) -> str:
    if path == "/studio/static/{name}":
        return "/studio/static/studio.js"
    return re.sub(r"\{[^}]+\}", "0123456789abcdef", path)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}],
                         ids=["no key", "wrong key", "no scheme"])
def test_every_route_but_the_open_ones_needs_the_key(server, headers):
    seen_open = set()
    for method, path in _routes(server):
        r = httpx.request(method, f"{server.url}{_concrete(path)}", headers=headers, timeout=10)
        if path in OPEN:
            assert r.status_code == 200, (method, path, r.status_code)
            seen_open.add(path)
            continue
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        error = r.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, (method, path)
        assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key"), (method, path)
    assert seen_open == OPEN


def test_an_upload_without_the_key_stores_nothing(server):
    wav = io.BytesIO()
    sf.write(wav, 0.3 * np.sin(np.arange(16000) * 2 * np.pi * 220 / 16000), 16000, format="WAV")
    r = httpx.post(f"{server.url}/v1/audio/voices", files={"file": ("v.wav", wav.getvalue(), "audio/wav")},
                   data={"name": "Sneaky"}, timeout=30)
    assert r.status_code == 401
    assert not list(server.state.service.store.folder.glob("*.wav"))


def _exchange(server, head: bytes, body: bytes = b"", deadline: float = 5.0) -> bytes:
    """Send `head` (and `body`), then read until the server closes or `deadline` passes."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=deadline) as sock:
        sock.sendall(head + body)
        out = b""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            out += chunk
        return out


def _response(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), raw[:200]
    return int(head.split()[1]), json.loads(body)


def _post_head(path: str, length: int, *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             f"Content-Length: {length}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_request_without_the_key_is_answered_before_its_body(server):
    """16 MiB announced, not one byte of it sent: the 401 comes anyway, and the server closes."""
    status, body = _response(_exchange(server, _post_head("/v1/audio/speech", 16 * 1024 * 1024)))
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    status, body = _response(_exchange(server, _post_head("/v1/audio/voices", 16 * 1024 * 1024,
                                                          "Authorization: Bearer wrong")))
    assert status == 401


def test_each_route_takes_only_the_body_it_needs(server):
    # announced: refused before the body, with the key
    status, body = _response(_exchange(server, _post_head("/v1/audio/speech", 1024 * 1024, f"Authorization: "
                                                          f"Bearer {KEY}")))
    assert status == 413 and body["error"]["code"] == "too_large"
    assert "limit for this route is" in body["error"]["message"]
    # a short input padded with a megabyte elsewhere: the route's bound, not the server-wide 16 MiB
    padded = {"model": "template", "input": "Hi.", "params": {"pad": "a" * (1024 * 1024)}}
    r = httpx.post(f"{server.url}/v1/audio/speech", json=padded, headers=AUTH, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    # ... and the longest input, every character escaped by JSON, still reaches the route (which
    # then finds the voice unknown: read, not refused for its size)
    longest = json.dumps({"model": "template", "input": "\U0001f600" * 4096, "voice": "zork"},
                         ensure_ascii=True).encode()
    assert len(longest) > 4096 * 12
    r = httpx.post(f"{server.url}/v1/audio/speech", content=longest, timeout=30,
                   headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "voice_not_found", r.text
    # a GET has no use for a body
    r = httpx.request("GET", f"{server.url}/v1/models", content=b"x" * (200 * 1024), headers=AUTH, timeout=10)
    assert r.status_code == 413


def test_a_body_that_trickles_in_is_cut_off(server):
    """Headers and 10 of 100 bytes, then nothing: a 408 after --timeout-body (0.5 s here)."""
    began = time.monotonic()
    raw = _exchange(server, _post_head("/v1/audio/speech", 100, f"Authorization: Bearer {KEY}"), b'{"model": ',
                    deadline=10)
    status, body = _response(raw)
    assert status == 408
    assert (body["error"]["type"], body["error"]["code"]) == ("invalid_request_error", "request_timeout")
    assert time.monotonic() - began < 5
