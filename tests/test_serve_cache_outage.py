"""A cache that fails under a running server (docs/deploy.md, "An outage never fails a render"):
the operator hears of it in the server log, a Redis that does not answer is asked once per
call, and counting the cache for /metrics never holds up the other requests."""

from __future__ import annotations

import logging
import socket
import threading

import httpx
import pytest
from servekit import free_port, running

import polyvox
from polyvox.cache.shared import RedisCache


class SilentServer:
    """A loopback listener that accepts connections and never answers (a Redis stopped with
    SIGSTOP, a half-open network): counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


def test_a_redis_that_does_not_answer_is_asked_once(silent):
    pytest.importorskip("redis")
    warned: list[str] = []
    cache = RedisCache(f"redis://127.0.0.1:{silent.port}/0", warn=lambda kind, message: warned.append(message),
                       timeout=0.3)
    assert cache.get("a" * 64) is None  # a miss, not an error
    assert len(silent.accepted) == 1  # a timeout is not retried on a new connection (a second timeout)
    assert len(warned) == 1 and "timeout" in warned[0].lower()
    assert cache.get("b" * 64) is None and len(silent.accepted) == 1  # off for the rest of the render


def test_the_server_logs_a_cache_outage_once(tmp_path, caplog):
    pytest.importorskip("redis")
    closed = free_port()  # nothing listens: every connection is refused at once
    kernel = polyvox.Kernel(cache_url=f"redis://127.0.0.1:{closed}/0", plugins=["template"])
    caplog.set_level(logging.WARNING, logger="polyvox.serve")
    with running(kernel, tmp_path) as srv, httpx.Client(timeout=30) as client:
        for text in ("The first request.", "The second request."):
            response = client.post(srv.url + "/v1/audio/speech",
                                   json={"model": "template", "input": text, "response_format": "wav"})
            assert response.status_code == 200  # an outage never fails a render
    said = [r.getMessage() for r in caplog.records if r.name == "polyvox.serve" and r.getMessage().startswith("cache:")]
    assert len(said) == 1 and f"127.0.0.1:{closed}" in said[0], said


def test_counting_the_cache_for_metrics_holds_up_no_other_request(tmp_path):
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=["template"])
    counting, release = threading.Event(), threading.Event()
    stats = kernel.cache_stats

    def slow_stats():  # a cache of millions of keys, or a Redis that does not answer
        counting.set()
        release.wait(20)
        return stats()

    kernel.cache_stats = slow_stats
    with running(kernel, tmp_path) as srv, httpx.Client(timeout=10) as client:
        scrape = threading.Thread(target=lambda: client.get(srv.url + "/metrics"))
        scrape.start()
        try:
            assert counting.wait(10)
            health = client.get(srv.url + "/health")  # answered while the count is still under way
            assert health.status_code == 200 and not release.is_set()
        finally:
            release.set()
            scrape.join(20)
