"""What an idle or slow client can hold: a connection that sends nothing, headers that trickle
in, an idle keep-alive connection, oversized headers, and connections past the cap. Raw
sockets on 127.0.0.1, each read with a deadline a few times the timeout configured."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from servekit import running

import polyvox
from polyvox.cli import cli

HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    return polyvox.Kernel(cache_dir=tmp_path_factory.mktemp("conn") / "cache")


def _port(srv) -> int:
    return int(srv.url.rsplit(":", 1)[1])


@contextlib.contextmanager
def _socket(srv, deadline: float = 5.0) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", _port(srv)), timeout=deadline) as sock:
        yield sock


def _closed_by_server(sock: socket.socket, deadline: float) -> float | None:
    """Seconds until the server closed `sock` (recv gives b"" or a reset), None if it had not
    by `deadline`; anything the server sends first is read and dropped."""
    began = time.monotonic()
    sock.settimeout(deadline)
    while time.monotonic() - began < deadline:
        try:
            if not sock.recv(4096):
                return time.monotonic() - began
        except ConnectionResetError:
            return time.monotonic() - began
        except TimeoutError:
            return None
    return None


def _answer(sock: socket.socket) -> tuple[int, dict, bytes]:
    """One HTTP response (status, JSON body, raw head), read by its Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    fields = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:])
    length = int(fields[b"content-length"])
    while len(body) < length:
        body += sock.recv(4096)
    return int(head.split()[1]), json.loads(body), head


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(kernel, tmp_path):
    with running(kernel, tmp_path, header_timeout=0.5, keep_alive_timeout=30) as srv, _socket(srv) as sock:
        waited = _closed_by_server(sock, deadline=5)
    assert waited is not None and waited >= 0.4


def test_headers_that_trickle_in_are_cut_off(kernel, tmp_path):
    with running(kernel, tmp_path, header_timeout=0.5) as srv, _socket(srv) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        began = time.monotonic()
        closed = False
        while time.monotonic() - began < 5 and not closed:
            try:
                sock.sendall(b"a")  # a byte every 0.1 s: never idle, never done
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                try:
                    closed = sock.recv(4096) == b""
                except ConnectionResetError:
                    closed = True
        assert closed, "the server kept a connection whose headers never ended"
        assert time.monotonic() - began < 5


def test_an_idle_keep_alive_connection_is_closed_after_its_timeout(kernel, tmp_path):
    with running(kernel, tmp_path, keep_alive_timeout=0.5, header_timeout=30) as srv, _socket(srv) as sock:
        sock.sendall(HEALTH)
        status, body, _ = _answer(sock)
        assert status == 200 and body["status"] == "ok"
        waited = _closed_by_server(sock, deadline=3)  # uvicorn's own default would be 5 s
    assert waited is not None


def test_headers_past_their_bound_are_not_buffered(kernel, tmp_path):
    """64 KiB of a header that has not ended: a 400 and the connection closed, not a buffer
    that grows for as long as the client sends."""
    with running(kernel, tmp_path, header_timeout=30) as srv, _socket(srv) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (64 * 1024))
        data = sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 400"), data[:100]
        assert _closed_by_server(sock, deadline=5) is not None


def test_a_request_past_the_connection_cap_gets_503_in_openais_shape(kernel, tmp_path):
    with running(kernel, tmp_path, max_connections=3, keep_alive_timeout=30, header_timeout=30) as srv, \
            contextlib.ExitStack() as stack:
        held = [stack.enter_context(_socket(srv)) for _ in range(3)]
        for sock in held:  # each answered (so the server has it) and kept alive: 3 open, the cap
            sock.sendall(HEALTH)
            assert _answer(sock)[0] == 200
        with _socket(srv) as extra:
            extra.sendall(HEALTH)
            status, body, head = _answer(extra)
            assert status == 503, body
            assert (body["error"]["type"], body["error"]["code"]) == ("server_error", "too_many_connections")
            assert b"retry-after: 1" in head.lower()
            assert _closed_by_server(extra, deadline=5) is not None
        held.pop().close()
        deadline = time.monotonic() + 5
        while True:  # the server notices the close promptly; then a new connection is served
            with _socket(srv) as again:
                again.sendall(HEALTH)
                status = _answer(again)[0]
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert status == 200


def test_the_cli_passes_the_connection_bounds_to_the_server(monkeypatch):
    import polyvox.serve

    seen = []
    monkeypatch.setattr(polyvox.serve, "run", lambda config, kernel, wyoming=None: seen.append(config))
    result = CliRunner().invoke(cli, ["serve", "--max-connections", "7", "--timeout-keep-alive", "2",
                                      "--timeout-headers", "3", "--timeout-body", "4"])
    assert result.exit_code == 0, result.output
    config = seen[0]
    assert (config.max_connections, config.keep_alive_timeout, config.header_timeout, config.body_timeout) == \
        (7, 2.0, 3.0, 4.0)
    defaults = polyvox.serve.ServeConfig()
    assert (defaults.max_connections, defaults.keep_alive_timeout, defaults.header_timeout,
            defaults.body_timeout) == (256, 5.0, 10.0, 30.0)
