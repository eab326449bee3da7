"""The host-app example in docs/embedding.md runs: streaming over HTTP, events, cancellation."""

from __future__ import annotations

import http.client
import importlib.util
import io
import logging
import threading
from pathlib import Path

import soundfile as sf

from polyvox.events import SegmentFinished

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "speech_handler.py"


def load_example():
    spec = importlib.util.spec_from_file_location("speech_handler", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def post(port: int, body: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/speak", body=body.encode())
    return conn.getresponse()


def test_streams_wav_logs_events_and_reports_bad_input(caplog):
    example = load_example()
    server, _ = example.serve(0)
    try:
        with caplog.at_level(logging.INFO, logger="speech"):
            reply = post(server.server_port, "Hello from a host app.\nA second line follows.")
            data = reply.read()
            again = post(server.server_port, "Hello from a host app.\nA second line follows.")
            again.read()
        assert reply.status == 200 and reply.getheader("Content-Type") == "audio/wav"
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", frames=-1)
        assert rate == 22050 and len(samples) / rate > 1.5 and abs(samples).max() > 0.1
        assert "loading piper/en_US-joe-medium" in caplog.text and "segment 1 made" in caplog.text
        assert "segment 1 cached" in caplog.text
        bad = post(server.server_port, "   ")
        assert bad.status == 400 and "nothing to speak" in bad.reason
    finally:
        server.shutdown()


def test_client_hanging_up_stops_the_render_and_keeps_finished_segments(monkeypatch):
    example = load_example()
    made: list[int] = []  # segments synthesized (not served from the cache)
    handled = threading.Event()
    on_event, do_post = example.on_event, example.SpeechHandler.do_POST

    def record(event):
        if isinstance(event, SegmentFinished) and not event.cached:
            made.append(event.index)
        on_event(event)

    def post_then_signal(handler):
        try:
            do_post(handler)
        finally:
            handled.set()

    monkeypatch.setattr(example, "on_event", record)
    monkeypatch.setattr(example.SpeechHandler, "do_POST", post_then_signal)
    server, _ = example.serve(0)
    text = "\n".join(f"Sentence {i} of a long reply that nobody waits for." for i in range(30))
    try:
        reply = post(server.server_port, text)
        reply.read(20000)  # the header and part of the first segment
        reply.close()  # hang up
        assert handled.wait(120), "the handler was still rendering 120 s after the client hung up"
        # a few segments were in flight or in the socket's buffers; the other ones never ran
        assert 1 <= len(made) <= 8, f"{len(made)} of 30 segments synthesized after the client hung up"
        assert example.KERNEL.cache_stats().entries == len(made)  # every finished segment is kept
    finally:
        server.shutdown()


def test_the_excerpt_in_the_docs_is_in_the_example() -> None:
    """docs/embedding.md shows lines of speech_handler.py: each is there, in that order ("..."
    stands for lines left out), so the excerpt cannot drift from the code that runs."""
    doc = (EXAMPLE.parent.parent / "embedding.md").read_text(encoding="utf-8")
    excerpt = doc.split("an excerpt of examples/speech_handler.py", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    source = EXAMPLE.read_text(encoding="utf-8").splitlines()
    at = 0
    for line in excerpt.splitlines():
        if line.strip() in ("", "..."):
            continue
        found = next((n for n in range(at, len(source)) if source[n] == line), None)
        assert found is not None, f"not in {EXAMPLE.name} (after line {at}): {line!r}"
        at = found + 1
