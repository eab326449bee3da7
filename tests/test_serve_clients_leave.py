"""Clients that leave in the middle of a streamed answer, as players and browsers do: the
server keeps running, logs no error, frees what the request held, and no request ever shares
another's encoder. Loopback only, bounded counts, every request with a timeout."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import defaultdict

import httpx
import numpy as np
import pytest
import soundfile as sf
from conftest import ToneEngine
from openai import APIConnectionError, OpenAI
from servekit import running
from serveproc import serving

import polyvox
from polyvox import Segment
from polyvox.serve.encoding import Encoder
from polyvox.text.chunking import sentences

FORMATS = ("mp3", "opus", "aac", "wav", "pcm", "flac")


def _long_text(tag: str) -> str:
    """Twelve sentences, unique to `tag`, so every request makes (not reads) its segments."""
    return " ".join(f"Sentence {n} of request {tag} is read out here." for n in range(12))


def _leave_early(client: OpenAI, fmt: str, tag: str) -> None:
    with client.audio.speech.with_streaming_response.create(model="template", voice="alloy", input=_long_text(tag),
                                                            response_format=fmt) as response:
        assert response.status_code == 200
        next(response.iter_bytes())  # the first bytes, then the client hangs up


@pytest.mark.slow
def test_fifty_clients_leaving_early_in_every_format_leave_the_server_well(tmp_path):
    """Leaving while the next segment is being made once crashed the server (FFmpeg's encoder
    closed under the thread feeding it) or logged "generator already executing"."""
    with serving(tmp_path) as server:
        client = OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=30)

        def leave(fmt: str, tag: str) -> None:
            try:
                _leave_early(client, fmt, tag)
            except APIConnectionError:
                server.process.wait(5)
            assert server.alive(), f"the server died as {tag!r} left:\n{server.log()[-3000:]}"

        for fmt in FORMATS:  # warm-up: every encoder and code path once, whole and cut short
            client.audio.speech.create(model="template", voice="alloy", input="Warming up.", response_format=fmt)
            leave(fmt, f"warm-up {fmt}")
        warm = server.rss()
        for fmt in FORMATS:
            for n in range(50):
                leave(fmt, f"{fmt} {n}")
        text = "The server still speaks. Every word of it."
        answer = httpx.post(f"{server.url}/v1/audio/speech", timeout=30,
                            json={"model": "template", "input": text, "response_format": "wav"})
        assert answer.status_code == 200
        deadline = time.monotonic() + 10  # freed memory goes back to the system once the server is idle
        while (after := server.rss()) - warm >= 50 * 2**20 and time.monotonic() < deadline:
            time.sleep(0.2)
        faults = server.faults()
    expected = _render(polyvox.Kernel(cache_dir=tmp_path / "cache"), text, "template")
    samples, rate = sf.read(io.BytesIO(answer.content), dtype="float32")
    assert rate == expected.sample_rate and len(samples) == len(expected)
    assert np.max(np.abs(samples - expected.samples)) < 1e-4
    assert faults == []
    print(f"server memory: {warm / 2**20:.0f} MB after the warm-up, {after / 2**20:.0f} MB after 300 clients")
    assert after - warm < 50 * 2**20, f"{(after - warm) / 2**20:.0f} MB more than after the warm-up"


@pytest.mark.parametrize("fmt", ["pcm", "mp3"])
def test_each_request_has_an_encoder_of_its_own(tmp_path, monkeypatch, fmt):
    """Two requests at once: every segment of each goes to one encoder, and the two encoders
    are not the same object (a shared one would mix their bytes in a race too narrow to see)."""
    fed: dict[int, list[int]] = defaultdict(list)
    lock = threading.Lock()
    feed = Encoder.feed

    def recording(self: Encoder, audio: polyvox.Audio) -> bytes:
        with lock:
            fed[id(self)].append(len(audio))
        return feed(self, audio)

    monkeypatch.setattr(Encoder, "feed", recording)
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache")
    kernel.register(ToneEngine(delay=0.05, name="slowtone"))  # segments 0.05 s × characters long
    words = {"a": ["One.", "Two two.", "Three three."], "b": ["Four four four four.", "Five five five five five.",
                                                            "Six six six six six six.", "Seven!"]}
    answers: dict[str, bytes] = {}
    with running(kernel, tmp_path) as srv:
        def ask(name: str) -> None:
            r = httpx.post(f"{srv.url}/v1/audio/speech", timeout=30,
                           json={"model": "slowtone", "input": " ".join(words[name]), "response_format": fmt})
            assert r.status_code == 200
            answers[name] = r.content

        threads = [threading.Thread(target=ask, args=(name,)) for name in words]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(answers) == ["a", "b"]
    assert len(fed) == 2, {k: len(v) for k, v in fed.items()}  # one encoder per request...
    alone = sorted(len(_render(kernel, " ".join(texts))) for texts in words.values())
    assert sorted(sum(v) for v in fed.values()) == alone  # ...fed all of its request's audio, and only that
    if fmt == "pcm":
        assert len(answers["a"]) // 2 == alone[0]


def _render(kernel: polyvox.Kernel, text: str, engine: str = "slowtone") -> polyvox.Audio:
    """What the server renders for `text`: its sentences, joined as sentences."""
    parts = sentences(text)
    return kernel.render([Segment(text=t, join="none" if n == 0 else "sentence") for n, t in enumerate(parts)],
                         engine=engine).audio


class _Long(ToneEngine):
    """Ten seconds of tone for every sentence: an answer far bigger than the sockets' buffers."""

    def synthesize(self, model, request, conditioning):
        tone = super().synthesize(model, request, conditioning)
        return polyvox.Audio(np.resize(tone.samples, 10 * tone.sample_rate), tone.sample_rate)


def test_a_client_that_stops_reading_gives_its_place_back(tmp_path):
    """A client that reads the headers and then nothing held its place in the queue for as long
    as its socket stayed open: with --max-queue 1, every other client got 429 meanwhile."""
    import socket

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", plugins=[])
    kernel.register(_Long(name="long", thread_safe=True))
    said: list[logging.LogRecord] = []
    heard = logging.Handler()
    heard.emit = said.append  # type: ignore[method-assign]
    with running(kernel, tmp_path, max_queue=1, send_timeout=1.0) as server:
        logging.getLogger("uvicorn.error").addHandler(heard)  # once uvicorn has set its logging up
        port = int(server.url.rsplit(":", 1)[1])
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", port))
        body = ('{"model": "long", "response_format": "pcm", "input": "'
                + " ".join(f"Line {n} is long." for n in range(30)) + '"}').encode()
        stuck.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert stuck.recv(100).startswith(b"HTTP/1.1 200")  # the headers, then the client reads nothing
        try:
            statuses = []
            for _ in range(40):  # the stuck answer's sends time out after 1 s; at most 10 s here
                got = httpx.post(f"{server.url}/v1/audio/speech", timeout=10,
                                 json={"model": "long", "input": "Hi.", "response_format": "pcm"})
                statuses.append(got.status_code)
                if got.status_code == 200:
                    break
                time.sleep(0.25)
            assert statuses[-1] == 200, statuses
            assert statuses[0] == 429  # it did hold the place while it was sending
        finally:
            stuck.close()
    # ended on purpose, so said at INFO: uvicorn's "returned without completing response" was an ERROR
    logging.getLogger("uvicorn.error").removeHandler(heard)
    ended = [r for r in said if "without completing" in r.getMessage()]
    assert ended and all(r.levelno == logging.INFO for r in ended), [(r.levelname, r.getMessage()) for r in said]
