"""A cache that fails under a running server (docs/deploy.md, "An outage never fails a render"):
the operator hears of it in the server log, a Redis that does not answer is asked once per
call, and counting the cache for /metrics never holds up the other requests."""

from __future__ import annotations

import logging
import socket
import threading

import httpx
import pytest
from servekit import running

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
    """Redis gone while the server runs: every render goes on without the cache and warns; the
    server log says so once (it said nothing), and a server that started without it once."""
    pytest.importorskip("redis")
    import shutil

    from rediskit import RedisServer

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server (make test does, as root)")
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    caplog.set_level(logging.WARNING, logger="polyvox.serve")
    try:
        kernel = polyvox.Kernel(cache_url=redis.url, plugins=["template"])
        with running(kernel, tmp_path) as srv, httpx.Client(timeout=30) as client:
            redis.kill()
            for text in ("The first request.", "The second request."):
                response = client.post(srv.url + "/v1/audio/speech",
                                       json={"model": "template", "input": text, "response_format": "wav"})
                assert response.status_code == 200  # an outage never fails a render
    finally:
        redis.kill()
    said = [r.getMessage() for r in caplog.records if r.name == "polyvox.serve" and f":{redis.port}" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("cache:"), said
    caplog.clear()
    kernel = polyvox.Kernel(cache_url=redis.url, plugins=["template"])  # nobody listens there now
    with running(kernel, tmp_path / "again") as srv, httpx.Client(timeout=30) as client:
        for text in ("The third request.", "The fourth request."):
            assert client.post(srv.url + "/v1/audio/speech", json={"model": "template", "input": text}).status_code \
                == 200
    said = [r.getMessage() for r in caplog.records if r.name == "polyvox.serve" and f":{redis.port}" in r.getMessage()]
    assert len(said) == 1 and "cannot be written" in said[0], said


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


def test_health_follows_the_cache_after_the_start(tmp_path, monkeypatch):
    """/health's cache state is checked again while the server runs (in the background: a probe
    never waits on Redis): a Redis that comes up after the server turns "read-only" into "ok"."""
    pytest.importorskip("redis")
    import shutil
    import time

    from rediskit import RedisServer

    from polyvox.serve.cachewatch import CacheWatch

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server (make test does, as root)")
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis")  # its port chosen, nothing listening yet
    kernel = polyvox.Kernel(cache_url=redis.url, plugins=["template"])
    monkeypatch.setattr(CacheWatch, "EVERY", 0.0)
    try:
        with running(kernel, tmp_path) as srv, httpx.Client(timeout=10) as client:
            assert client.get(srv.url + "/health").json()["cache"] == "read-only"
            redis.start()
            states = []
            for _ in range(100):  # each probe answers at once and asks for a check behind it
                states.append(client.get(srv.url + "/health").json()["cache"])
                if states[-1] == "ok":
                    break
                time.sleep(0.05)
            assert states[-1] == "ok", states
    finally:
        redis.kill()
