"""The server under load: concurrent clients each get exactly their own audio, a full queue
answers 429, a dropped client stops its render, and a short request is not stuck behind a
long one on the same engine. Loopback, bounded counts, every request with a timeout."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from conftest import BatchTone, ToneEngine, wait_parked
from servekit import running

import polyvox
import polyvox.events

SPEAK = "/v1/audio/speech"


def _kernel(tmp_path, name: str, delay: float = 0.0) -> tuple[polyvox.Kernel, ToneEngine]:
    kernel = polyvox.Kernel(cache_dir=tmp_path / f"cache-{name}")
    slow = ToneEngine(delay=delay, name="slowtone")
    kernel.register(slow)
    return kernel, slow


def _texts(n: int) -> list[str]:
    return [f"Client {i} says {'hello ' * (i % 4 + 1)}to the server. And then goodbye number {i}." for i in range(n)]


def test_sixteen_concurrent_clients_each_get_their_own_audio(tmp_path):
    texts = _texts(16)
    body = {"model": "template", "response_format": "pcm", "seed": 7}
    kernel, _ = _kernel(tmp_path, "busy")
    with running(kernel, tmp_path / "a") as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        def ask(text: str) -> bytes:
            r = client.post(SPEAK, json={**body, "input": text})
            assert r.status_code == 200, r.text
            return r.content

        with ThreadPoolExecutor(16) as pool:
            together = list(pool.map(ask, texts))
    alone_kernel, _ = _kernel(tmp_path, "alone")  # a fresh cache: nothing shared with the busy run
    with running(alone_kernel, tmp_path / "b") as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        alone = [client.post(SPEAK, json={**body, "input": t}).content for t in texts]
    assert len(set(alone)) == 16  # the texts really differ
    assert together == alone


def test_a_full_queue_answers_429_and_the_server_recovers(tmp_path):
    kernel, _ = _kernel(tmp_path, "queue", delay=0.1)
    long_text = " ".join(f"Sentence {n} is here." for n in range(10))
    with running(kernel, tmp_path, max_queue=2) as srv:
        started = threading.Barrier(3, timeout=20)
        done: list[int] = []

        def hold() -> None:
            with httpx.stream("POST", f"{srv.url}{SPEAK}", json={"model": "slowtone", "input": long_text,
                                                                   "response_format": "pcm"}, timeout=30) as r:
                chunks = r.iter_bytes()
                next(chunks)
                started.wait()
                for _ in chunks:
                    pass
                done.append(r.status_code)

        holders = [threading.Thread(target=hold) for _ in range(2)]
        for t in holders:
            t.start()
        started.wait()
        refused = httpx.post(f"{srv.url}{SPEAK}", json={"model": "template", "input": "Hi"}, timeout=10)
        for t in holders:
            t.join(30)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "queue_full"
        assert done == [200, 200]
        assert srv.state.queue.count == 0
        assert httpx.post(f"{srv.url}{SPEAK}", json={"model": "template", "input": "Hi"}, timeout=10).status_code == 200


def test_a_dropped_client_stops_its_render_and_the_server_keeps_serving(tmp_path):
    kernel, slow = _kernel(tmp_path, "drop", delay=0.1)
    texts = [f"Dropped sentence number {n} is here." for n in range(30)]
    with running(kernel, tmp_path) as srv:
        with httpx.stream("POST", f"{srv.url}{SPEAK}", json={"model": "slowtone", "input": " ".join(texts),
                                                               "response_format": "pcm"}, timeout=30) as r:
            assert r.status_code == 200
            next(r.iter_bytes())
        deadline = time.monotonic() + 10
        while srv.state.queue.count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.state.queue.count == 0  # the request ended without its client
        spoken = [t for t in slow.calls if t.startswith("Dropped")]
        time.sleep(0.5)
        assert [t for t in slow.calls if t.startswith("Dropped")] == spoken  # nothing more was synthesized
        assert len(spoken) <= 5, len(spoken)
        # what was synthesized is cached: asking again for those sentences reuses them (how many
        # there are depends on whether the next one had reached the engine when the client left)
        assert spoken == texts[:len(spoken)]
        again = httpx.post(f"{srv.url}{SPEAK}", json={"model": "slowtone", "input": " ".join(spoken),
                                                      "response_format": "pcm"}, timeout=30)
        assert again.status_code == 200
        assert [t for t in slow.calls if t.startswith("Dropped")] == spoken


class Paced(ToneEngine):
    """The slow tone engine, paced by the test instead of the clock: the long render's third
    call waits until the short request's segment is queued at the model's lock, and its last
    call until the short request was answered (or 20 s)."""

    def __init__(self, last: str):
        super().__init__(delay=0.01, name="slowtone")  # not thread-safe: one call at a time
        self.last = last
        self.short_thread: int | None = None
        self.at_third = threading.Event()  # the long render's third call has begun
        self.short_started = threading.Event()
        self.answered = threading.Event()
        self.answered_in_time: bool | None = None

    def listen(self, event: object) -> None:
        if isinstance(event, polyvox.events.SegmentStarted) and event.text == "Short one.":
            self.short_thread = threading.get_ident()  # the server's thread rendering it
            self.short_started.set()

    def synthesize(self, model, request, conditioning):
        if request.text == "Long sentence 2 is here.":
            self.at_third.set()
            assert self.short_started.wait(20), "the short request never started"
            assert wait_parked(self.short_thread), "the short request never queued for the engine"
        if request.text == self.last:
            self.answered_in_time = self.answered.wait(20)
        return super().synthesize(model, request, conditioning)


def test_a_short_request_during_a_long_one_is_answered_promptly(tmp_path):
    """By order, not by the clock: the short request's segment is made right after the long
    render's segment in progress, and its answer arrives while the long render still runs."""
    long_texts = [f"Long sentence {n} is here." for n in range(60)]
    slow = Paced(last=long_texts[-1])
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache-fair")
    kernel.register(slow)
    kernel.subscribe(slow.listen)
    with running(kernel, tmp_path) as srv:
        def long_request() -> None:
            r = httpx.post(f"{srv.url}{SPEAK}", json={"model": "slowtone", "input": " ".join(long_texts),
                                                      "response_format": "pcm"}, timeout=90)
            assert r.status_code == 200

        t = threading.Thread(target=long_request)
        t.start()
        assert slow.at_third.wait(20)
        short = httpx.post(f"{srv.url}{SPEAK}", json={"model": "slowtone", "input": "Short one.",
                                                      "response_format": "pcm"}, timeout=60)
        slow.answered.set()
        t.join(90)
    assert short.status_code == 200 and short.content
    assert slow.calls.index("Short one.") == 3, slow.calls[:8]  # after the one in progress, not the 57 left
    assert slow.answered_in_time, "the short request was answered only after the long render"
    assert slow.calls[-1] == long_texts[-1] and len(slow.calls) == 61


def test_a_client_gone_before_the_headers_frees_its_slot(tmp_path):
    """The response never starts (sending the headers fails): the render is closed and the
    queue slot given back all the same."""
    import asyncio
    import json

    from polyvox.serve import ServeConfig, create_app

    kernel, slow = _kernel(tmp_path, "gone", delay=0.05)
    app = create_app(ServeConfig(voices_dir=tmp_path / "voices", max_queue=1), kernel)
    body = json.dumps({"model": "slowtone", "response_format": "pcm",
                       "input": " ".join(f"Gone sentence {n} is here." for n in range(20))}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": SPEAK, "raw_path": SPEAK.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"content-type", b"application/json"),
                                           (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start" and message["status"] == 200:
            raise OSError("client gone")

    async def call():
        try:
            await app(scope, receive, send)
        except Exception:  # noqa: BLE001 (the server's own error path; only the slot matters here)
            pass

    asyncio.run(call())
    assert app.state.queue.count == 0
    spoken = len(slow.calls)
    time.sleep(0.3)
    assert len(slow.calls) == spoken <= 2  # the first segment (made before the headers), no more


def test_concurrent_openai_requests_share_batches_and_each_gets_its_own_audio(tmp_path):
    """Four clients of the official `openai` package ask at once while the engine is busy: their
    sentences leave in one shared batch call, and each client gets what it gets alone."""
    from openai import OpenAI

    texts = [f"Request {i} says {'hi ' * (i + 1)}now." for i in range(4)]

    def speak(url: str, text: str) -> bytes:
        client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=30)
        return client.audio.speech.create(model="tone", voice="alloy", input=text, response_format="pcm").content

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache-shared")
    tone = BatchTone()
    kernel.register(tone)
    with running(kernel, tmp_path / "a", batch_size=4) as srv:
        holder = threading.Thread(target=lambda: kernel.synthesize("hold the engine", engine="tone"))
        holder.start()
        assert tone.holding.wait(20)
        with ThreadPoolExecutor(4) as pool:
            answers = [pool.submit(speak, srv.url, t) for t in texts]
            deadline = time.monotonic() + 20
            while sum(len(lane.waiting) for lane in kernel.scheduler.batches._lanes.values()) < 4:
                assert time.monotonic() < deadline, "the requests never queued"
                time.sleep(0.01)
            tone.gate.set()
            together = [a.result(timeout=30) for a in answers]
        holder.join(10)
    assert sorted(tone.batches[1]) == sorted(texts), tone.batches  # one call served all four requests
    assert len(tone.batches) == 2
    alone_kernel = polyvox.Kernel(cache_dir=tmp_path / "cache-alone")
    alone_kernel.register(BatchTone())
    with running(alone_kernel, tmp_path / "b") as srv:
        alone = [speak(srv.url, t) for t in texts]
    assert len(set(alone)) == 4
    assert together == alone
