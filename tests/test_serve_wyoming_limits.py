"""The Wyoming server against hostile clients, over raw sockets on 127.0.0.1: declared sizes
over the limits are refused from the header (nothing read, memory flat), garbage gets an
`error` event and a hang-up with nothing escaping into asyncio's log, and Wyoming shares the
HTTP server's queue and metrics. Every socket has a deadline; counts are bounded."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import BatchTone
from servekit import free_port, running
from wyoming.event import Event, read_event, write_event
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

import polyvox
from polyvox.serve import ServeConfig, create_app
from polyvox.serve.wyoming import serve_wyoming
from polyvox.serve.wyoming_events import DATA_LIMIT, HEADER_LIMIT, PAYLOAD_LIMIT


@contextlib.contextmanager
def wyoming(service: Any, **shared: Any) -> Iterator[int]:
    """A Wyoming server on its own thread and event loop (as `polyvox serve` runs it); its port."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = asyncio.Event()
    task = loop.create_task(serve_wyoming(f"tcp://127.0.0.1:{port}", service, ready=ready, **shared))

    def serve() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    for _ in range(200):
        if ready.is_set():
            break
        threading.Event().wait(0.02)
    assert ready.is_set(), "the Wyoming server did not start"
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(10)
        loop.close()


def _exchange(port: int, raw: bytes, stop_on: str | None = None, deadline: float = 10) -> tuple[list[Event], bool]:
    """The events the server answers `raw` with (up to one of type `stop_on`), and whether it
    closed the connection (rather than falling silent until the deadline)."""
    with socket.create_connection(("127.0.0.1", port), timeout=deadline) as sock:
        sock.sendall(raw)
        answers = sock.makefile("rb")
        events = []
        try:
            while (event := read_event(answers)) is not None:
                events.append(event)
                if event.type == stop_on:
                    return events, False
        except TimeoutError:
            return events, False
        return events, True


def _send(event: Event) -> bytes:
    out = io.BytesIO()
    write_event(event, out)
    return out.getvalue()


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


@pytest.fixture
def service(tmp_path):
    app = create_app(ServeConfig(voices_dir=tmp_path / "voices", model_aliases={"tts-1": "template"}),
                     polyvox.Kernel(cache_dir=tmp_path / "cache"))
    return app.state.service


@pytest.mark.parametrize("header", [
    {"type": "synthesize", "data_length": 300_000_000},
    {"type": "audio-chunk", "data_length": 12, "payload_length": 300_000_000},
])
def test_a_huge_declared_length_is_refused_unread(service, header):
    """The lengths come from the header, so the server refuses before reading on: the 64 MB the
    client goes on sending are never read (the send breaks off) and memory stays flat."""
    with wyoming(service) as port:
        before = _rss_mb()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(json.dumps(header).encode() + b"\n")
            sent, block = 0, b"x" * (1 << 20)
            with contextlib.suppress(OSError):  # the server hung up: the rest cannot be sent
                for _ in range(64):
                    sent += sock.send(block)
            answers = sock.makefile("rb")
            (error,) = iter(lambda: read_event(answers), None)
        grown = _rss_mb() - before
    assert error.type == "error" and error.data["code"] == "too_large", error
    limit = DATA_LIMIT if "payload_length" not in header else PAYLOAD_LIMIT
    assert "300000000" in error.data["text"] and str(limit) in error.data["text"]
    assert sent < 32 << 20, sent  # the server stopped reading (only the kernel's socket buffers took any)
    assert grown < 16, f"the server grew by {grown:.0f} MB"


def test_a_header_without_an_end_is_refused_at_the_limit(service):
    with wyoming(service) as port:
        before = _rss_mb()
        (error,), closed = _exchange(port, b"{" + b"a" * (4 * HEADER_LIMIT))
        grown = _rss_mb() - before
    assert closed and error.data["code"] == "too_large" and str(HEADER_LIMIT) in error.data["text"]
    assert grown < 16


GARBAGE = [
    b"garbage\n", b"\xff\xfe\x00\x01\n", b"[1, 2]\n", b'{"type": 5}\n', b"[" * 50_000 + b"\n",
    b'{"type": "synthesize", "data_length": "many"}\n', b'{"type": "synthesize", "data_length": -4}\n',
    b'{"type": "synthesize", "data_length": 4}\n[1,2',
    b'{"type": "synthesize", "data_length": 6}\n"text"', b'{"type": "synthesize", "data": "text"}\n',
    b'{"type": "synthesize"}\n', b'{"type": "synthesize", "data": {"text": 7}}\n',
    b'{"type": "synthesize", "data": {"text": "Hi.", "voice": "alloy"}}\n',
    b'{"type": "synthesize-chunk", "data": {"text": null}}\n', b'{"type": "zork"}\n',
    b'{"type": "synthesize", "data": {"text": "Hi."}, "payload_length": 99999}\n',
]


def test_garbage_gets_an_error_a_hang_up_and_one_log_line(service, caplog):
    """Each of these used to end its connection task with an exception nobody retrieved (or hang,
    or close without a word): now an error event, a hang-up, one line in the log, and the
    server serves the next client."""
    caplog.set_level(logging.INFO)
    with wyoming(service) as port:
        answers = [_exchange(port, raw) for raw in GARBAGE]
        gc.collect()  # asyncio logs an unretrieved task exception when the task is collected
        ok, _ = _exchange(port, _send(Synthesize(text="Still here.").event()), "audio-stop")
    for raw, (events, closed) in zip(GARBAGE, answers, strict=True):
        assert closed and [e.type for e in events] == ["error"], (raw[:60], events)
        assert events[0].data["code"] in {"invalid_event", "unknown_event", "too_large"}, (raw[:60], events)
    assert [e.type for e in ok][-1] == "audio-stop"
    assert not [r for r in caplog.records if r.name == "asyncio"], [r.getMessage() for r in caplog.records]
    said = [r for r in caplog.records if r.name == "polyvox.serve" and "bad" in r.getMessage()]
    assert len(said) == len(GARBAGE) and all(r.exc_info is None for r in said)


def test_ping_is_answered_and_a_null_voice_is_the_default_voice(service):
    ping = b'{"type": "ping", "data": {"text": "are you there"}}\n'
    speak = b'{"type": "synthesize", "data": {"text": "Hello.", "voice": null}}\n'
    with wyoming(service) as port:
        got, closed = _exchange(port, ping + speak, "audio-stop")
    assert not closed and got[0].type == "pong" and got[0].data["text"] == "are you there"
    assert [e.type for e in got[1:]][::len(got) - 2] == ["audio-start", "audio-stop"]


def test_wyoming_and_http_share_one_queue_and_the_metrics(tmp_path):
    """With --max-queue 1, a render in progress on one protocol refuses the other (Wyoming: an
    error event with code queue_full, then a hang-up; HTTP: 429), and /metrics counts both."""
    engine = BatchTone(name="holdtone")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    kernel.register(engine)
    body = {"model": "tts-1", "response_format": "pcm"}
    with running(kernel, tmp_path, max_queue=1, model_aliases={"tts-1": "holdtone"}) as srv, \
            wyoming(srv.state.service, queue=srv.state.queue, metrics=srv.state.metrics) as port:
        # an HTTP render holds the one slot
        spoken: list[int] = []
        http = threading.Thread(target=lambda: spoken.append(
            httpx.post(f"{srv.url}/v1/audio/speech", json={**body, "input": "Please hold the line."},
                       timeout=30).status_code))
        http.start()
        assert engine.holding.wait(20)
        refused, closed = _exchange(port, _send(Synthesize(text="Anyone there?").event()))
        engine.gate.set()
        http.join(30)
        assert spoken == [200] and closed and [e.type for e in refused] == ["error"], refused
        assert refused[0].data["code"] == "queue_full"
        # a Wyoming render holds it
        engine.gate.clear()
        engine.holding.clear()
        heard: list[Any] = []
        wy = threading.Thread(target=lambda: heard.append(
            _exchange(port, _send(Synthesize(text="Please hold once more.").event()), "audio-stop", 30)))
        wy.start()
        assert engine.holding.wait(20)
        busy = httpx.post(f"{srv.url}/v1/audio/speech", json={**body, "input": "Anyone there?"}, timeout=10)
        engine.gate.set()
        wy.join(30)
        assert busy.status_code == 429 and busy.json()["error"]["code"] == "queue_full"
        (events, _), = heard
        assert [e.type for e in events][-1] == "audio-stop"
        assert srv.state.queue.count == 0
        streamed, _ = _exchange(port, b"".join(_send(e.event()) for e in (
            SynthesizeStart(), SynthesizeChunk(text="A streamed answer."), SynthesizeStop())), "synthesize-stopped")
        garbage, _ = _exchange(port, b"not an event\n")
        metrics = httpx.get(f"{srv.url}/metrics", timeout=10).text
    assert streamed[-1].type == "synthesize-stopped" and garbage[-1].type == "error"
    assert 'polyvox_requests_total{protocol="wyoming",route="synthesize-stream",status="200"} 1.0' in metrics
    assert 'polyvox_requests_total{protocol="wyoming",route="invalid",status="400"} 1.0' in metrics
    assert 'polyvox_requests_total{protocol="wyoming",route="synthesize",status="429"} 1.0' in metrics
    assert 'polyvox_requests_total{protocol="wyoming",route="synthesize",status="200"} 1.0' in metrics
    assert 'polyvox_requests_total{protocol="http",route="/v1/audio/speech",status="429"} 1.0' in metrics
    assert 'polyvox_requests_total{protocol="http",route="/v1/audio/speech",status="200"} 1.0' in metrics


def test_polyvox_serve_gives_wyoming_the_http_servers_queue_and_metrics(tmp_path, monkeypatch):
    """`polyvox serve --wyoming` (serve.run) hands its own queue and metrics to the Wyoming server."""
    import uvicorn

    import polyvox.serve.wyoming as wyoming_module
    from polyvox.serve import run

    handed: dict[str, Any] = {}
    called = threading.Event()

    async def fake(uri: str, service: Any, no_auth: bool = False, **shared: Any) -> None:
        handed.update(shared, service=service)
        called.set()

    monkeypatch.setattr(wyoming_module, "serve_wyoming", fake)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: called.wait(10))
    config = ServeConfig(port=free_port(), voices_dir=tmp_path / "voices", max_queue=3)
    run(config, polyvox.Kernel(cache_dir=tmp_path / "cache"), wyoming=f"tcp://127.0.0.1:{free_port()}")
    assert called.is_set()
    queue, metrics, service = handed.get("queue"), handed.get("metrics"), handed["service"]
    assert queue is not None and metrics is not None and queue.depth == 3 and service.config is config
    queue.enter()  # the queue the HTTP server's metrics report
    assert b"polyvox_queue_depth 1.0" in metrics.render()
