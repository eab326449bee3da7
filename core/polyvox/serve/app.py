"""The HTTP application: OpenAI's speech, models and voices routes plus health and metrics,
on FastAPI. One `Kernel` serves every request; renders run in worker threads, one segment per
step, so the event loop never waits on an engine and a dropped client stops its render."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from polyvox import Kernel
from polyvox.errors import PolyvoxError
from polyvox.serve import captioned, residents, studio
from polyvox.serve.cachewatch import CacheLog, CacheWatch
from polyvox.serve.config import OPENAI_VOICES, ServeConfig
from polyvox.serve.encoding import Encoder, delay_of
from polyvox.serve.errors import ApiError, from_polyvox
from polyvox.serve.gate import Gate
from polyvox.serve.handlers import install_error_handlers
from polyvox.serve.limits import Queue
from polyvox.serve.memory import Releaser
from polyvox.serve.metrics import Metrics
from polyvox.serve.schemas import FORMATS, ModelCard, SpeechRequest, VoiceCard
from polyvox.serve.speech import Speech, SpeechService
from polyvox.serve.voices import VoiceStore

log = logging.getLogger("polyvox.serve")


class _EndedOnPurpose(logging.Filter):
    """uvicorn logs "ASGI callable returned without completing response." as an ERROR; after a
    response polyvox ended itself (a client that read nothing for --timeout-send, said at INFO
    just before) it is no error, and is said at INFO."""

    count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if self.count and record.getMessage().startswith("ASGI callable returned without completing"):
            self.count -= 1
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_ENDED = _EndedOnPurpose()
logging.getLogger("uvicorn.error").addFilter(_ENDED)


def default_voices_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("polyvox") / "server-voices"


def create_app(config: ServeConfig, kernel: Kernel | None = None) -> Any:
    """The ASGI application (FastAPI behind the gate); `.state` holds the kernel,
    the speech service, the queue and the metrics."""
    kernel = kernel or Kernel(downloads="never")  # a request never waits on a multi-GB download: 503
    metrics = Metrics()
    kernel.subscribe(metrics.on_event)
    metrics.registry.register(residents.ResidentCollector(kernel))
    store = VoiceStore(config.voices_dir or default_voices_dir(), config.max_voice_seconds)
    service = SpeechService(kernel, config, store)
    releaser = Releaser()  # what requests freed goes back to the system once the server is idle

    def in_flight(count: int) -> None:
        metrics.queue.set(count)
        releaser.count(count)

    queue = Queue(config.max_queue, in_flight)
    cache = CacheWatch(kernel)
    kernel.subscribe(CacheLog(cache))  # the renders' cache warnings in the server log too
    app = FastAPI(title="polyvox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.kernel, app.state.service, app.state.queue, app.state.metrics = kernel, service, queue, metrics

    install_error_handlers(app)

    # -- speech ------------------------------------------------------------------------------
    @app.post("/v1/audio/speech")
    async def speech(body: SpeechRequest, request: Request) -> Any:
        if body.timestamps and body.stream_format != "sse":  # JSON: audio and words (serve/captioned.py)
            data, done = await captioned.whole(service, queue, body)
            return JSONResponse(captioned.speech_json(data, done, body), headers=dict(done.headers))
        queue.enter()
        try:
            began = time.perf_counter()
            planned = await anyio.to_thread.run_sync(service.start, body)
            job = _Job(planned, Encoder(body.response_format, planned.stream.sample_rate), queue)
        except BaseException:
            queue.leave()
            raise
        try:  # the first segment before the headers: a failure there is still a proper status
            first = await anyio.to_thread.run_sync(job.step)
        except BaseException:
            await job.close()
            raise
        frames = _frames(job, first, body.stream_format, metrics, began, request)
        media = "text/event-stream" if body.stream_format == "sse" else FORMATS[body.response_format]
        headers = {**planned.headers, "X-Polyvox-Cache": planned.cache_state()}
        return _SpeechResponse(frames, job, config.send_timeout, media_type=media, headers=headers)

    @app.post("/dev/captioned_speech")  # Kokoro-FastAPI's route, for its clients (serve/captioned.py)
    async def captioned_speech(body: captioned.CaptionedSpeechRequest) -> Any:
        data, done = await captioned.whole(service, queue, body)
        answer = captioned.captioned_json(data, done, body)
        if body.stream:  # one JSON object per line, as Kokoro streams them: here all in one
            return Response(json.dumps(answer) + "\n", media_type="application/json", headers=dict(done.headers))
        return JSONResponse(answer, headers=dict(done.headers))

    # -- models and voices ---------------------------------------------------------------------
    residents.install(app, service)  # POST /v1/models/{id}/load and /unload

    def model_cards() -> list[ModelCard]:
        cards = [ModelCard(id=name, owned_by="polyvox") for name in service.config_aliases()]
        fetches = kernel.weights.policy != "never"
        for spec in kernel.engines():
            cards.append(ModelCard(id=spec.name, owned_by=spec.name))
            cards += [ModelCard(id=f"{spec.name}:{m}", owned_by=spec.name) for m in spec.models
                      if fetches or _on_this_machine(kernel, spec.name, m)]
        return cards

    @app.get("/v1/models")
    async def models() -> Any:
        return {"object": "list", "data": [c.model_dump() for c in model_cards()]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> Any:
        card = next((c for c in model_cards() if c.id == model_id), None)
        if card is None and config.model_target(model_id) is not None:  # a dated snapshot speech takes
            card = ModelCard(id=model_id, owned_by="polyvox")
        if card is None:
            raise ApiError(404, f"unknown model {model_id[:100]!r}: GET /v1/models lists them", param="model",
                           code="model_not_found")
        return card.model_dump()

    @app.get("/v1/audio/models")
    async def speech_models() -> Any:
        """The list Open WebUI reads for its model menu (`{"models": [{"id", "name"}]}`)."""
        return {"models": [{"id": c.id, "name": c.id, "owned_by": c.owned_by} for c in model_cards()]}

    @app.get("/v1/audio/voices")
    async def list_voices() -> Any:
        return {"voices": [c.model_dump() for c in await anyio.to_thread.run_sync(_voice_cards, service)]}

    @app.post("/v1/audio/voices", status_code=201)
    async def upload_voice(file: UploadFile = File(...), name: str = Form(...),
                           transcript: str | None = Form(None)) -> Any:
        data = await file.read()
        voice_id, voice = await anyio.to_thread.run_sync(
            lambda: store.add(data, name, transcript, service.reserved_voice_names()))
        return VoiceCard(id=voice_id, name=voice.name, engine=None, languages=[], clones=True).model_dump()

    @app.delete("/v1/audio/voices/{voice_id}")
    async def delete_voice(voice_id: str) -> Any:
        await anyio.to_thread.run_sync(store.delete, voice_id)
        return {"id": voice_id, "deleted": True}

    # -- operations ----------------------------------------------------------------------------
    @app.api_route("/health", methods=["GET", "HEAD"])  # monitors often probe with HEAD
    async def health() -> Any:
        return {"status": "ok", "engines": [s.name for s in kernel.engines()], "queue": queue.count,
                "cache": cache.state(), "models": [residents.describe(r) for r in kernel.models.residents()]}

    @app.get("/metrics")
    async def prometheus() -> Any:
        from prometheus_client import CONTENT_TYPE_LATEST

        # counting the cache reads every key (or waits on a Redis that does not answer): never on
        # the event loop, which every other request needs
        return Response(await anyio.to_thread.run_sync(metrics.render), media_type=CONTENT_TYPE_LATEST)

    studio.install(app, service, queue)  # the page at / and its API under /studio/api (serve/studio/)
    gated: Any = Gate(app, config)  # every route's key and body bound: serve/gate.py
    if config.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        # outside the gate, so a page also reads the gate's refusals (401, 413, 429), not an
        # opaque CORS failure; any header a page's client sends may come (the openai SDK's
        # x-stainless-*): the origin and the key decide, not the header names. A page served from
        # the internet asks Chrome's private-network preflight before it may reach 127.0.0.1:
        # an origin given here may
        gated = CORSMiddleware(gated, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST", "DELETE"],
                               allow_headers=["*"], allow_private_network=True,
                               expose_headers=["x-sample-rate", "x-polyvox-engine", "x-polyvox-language",
                                               "x-polyvox-instructions", "x-polyvox-verify", "x-polyvox-warning",
                                               "x-polyvox-cache", "retry-after"])
    return _Counted(gated, app.state, metrics)


class _Counted:
    """Counts responses by route and status (a plain ASGI wrapper: Starlette's middleware class
    would buffer streamed bodies and hide a client's disconnect)."""

    def __init__(self, app: Any, state: Any, metrics: Metrics):
        self.app = app
        self.state = state
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def counting(message: Any) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "other")
                self.metrics.requests.labels("http", route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting)


class _Job:
    """A speech response's render, encoder and queue slot, released exactly once: when the body
    ends, or when the response never started (the client left before the headers).

    The render stream and the encoder are used from worker threads, one step at a time, and a
    client may leave at any moment: the task awaiting a step is then cancelled, but its thread
    runs on. Every use of the two therefore holds the job's lock, and `close` takes it too (in
    a thread, shielded) before it closes them: the segment in progress finishes (and is cached),
    later steps find the job closed, and nothing is freed under a thread still using it (an
    encoder closed during `feed` crashes FFmpeg; a stream closed during `next` is a
    "generator already executing")."""

    def __init__(self, planned: Speech, encoder: Encoder, queue: Queue):
        self.planned = planned
        self.encoder = encoder
        self.queue = queue
        self._lock = threading.Lock()
        self._finished = False  # the encoder's tail was taken: nothing to abort
        self._shut = False  # encoder and stream are closed: steps end the body
        self._closing = False

    def step(self) -> bytes | None:
        """One segment's worth of encoded bytes (possibly empty), or None at the end. In a worker thread."""
        with self._lock:
            if self._shut:
                return None
            chunk = self.planned.next_chunk()
            return None if chunk is None else self.encoder.feed(chunk)

    def finish(self) -> bytes:
        """The encoder's last bytes, after the last step. In a worker thread."""
        with self._lock:
            if self._shut:
                return b""
            self._finished = True
            return self.encoder.finish()

    def _shut_down(self) -> None:
        with self._lock:  # waits for the step in progress, if any
            self._shut = True
            if not self._finished:
                self.encoder.abort()
            self.planned.stream.close()

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.planned.cancel.cancel()  # the render stops after the segment in progress
        try:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._shut_down)
        finally:
            self.queue.leave()


class _SpeechResponse(StreamingResponse):
    def __init__(self, frames: AsyncIterator[bytes], job: _Job, send_timeout: float, **kwargs: Any):
        super().__init__(frames, **kwargs)
        self._frames = frames
        self._job = job
        self._send_timeout = send_timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        limit = self._send_timeout

        async def bounded(message: Any) -> None:  # a client that stops reading gives its place back
            with anyio.fail_after(limit):
                await send(message)

        try:
            await super().__call__(scope, receive, bounded)
        except TimeoutError:
            log.info("client read nothing for %g s: its response ends here", limit)
            _ENDED.count += 1  # uvicorn will say the response did not complete: on purpose, no error
        finally:
            with anyio.CancelScope(shield=True):
                await self._frames.aclose()  # type: ignore[attr-defined]
                await self._job.close()


async def _frames(job: _Job, first: bytes | None, stream_format: str, metrics: Metrics, began: float,
                  request: Request) -> AsyncIterator[bytes]:
    """The response body: encoded audio as each segment is ready (or SSE events of it). When
    the client goes away, the render is cancelled after the segment in progress."""
    sse = stream_format == "sse"
    planned = job.planned
    ahead_of_audio = delay_of(job.encoder.format, job.encoder.sample_rate)  # the encoder's delay, heard first
    ahead: asyncio.Future[bytes | None] | None = None
    try:
        data = first
        while data is not None:
            # the next segment is made while this one goes out: the engine never waits for the
            # client, the event loop or a thread hand-off between two segments of one request.
            # (Shielded: a client leaving cancels this wait, never the step; the job's lock
            # keeps its close from touching what the step uses.)
            ahead = asyncio.ensure_future(anyio.to_thread.run_sync(job.step))
            if data:
                yield _delta(data) if sse else data
            for event in captioned.word_events(planned, ahead_of_audio):
                yield event
            if await request.is_disconnected():
                log.info("client went away: its render stops after the segment in progress")
                return
            data, ahead = await asyncio.shield(ahead), None
        tail = await anyio.to_thread.run_sync(job.finish)
        if tail:
            yield _delta(tail) if sse else tail
        result = planned.stream.result
        if result is not None and result.stats.audio_seconds > 0:
            metrics.rtf.observe((time.perf_counter() - began) / result.stats.audio_seconds)
        for event in captioned.word_events(planned, ahead_of_audio):
            yield event
        if sse:
            heard = getattr(result, "verification", None)
            yield _event({"type": "speech.audio.done",
                          "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
                          "segments": _segment_times(result, planned.stretch, ahead_of_audio),
                          **({"verification": heard.verdicts()} if heard is not None else {})})
    except PolyvoxError as exc:  # after the headers: the status is sent; end the body early
        log.warning("render failed mid-stream: %s", exc)
        if sse:
            yield _event({"type": "error", **from_polyvox(exc).body()})
    finally:
        if ahead is not None:  # the client left: the step runs on; its outcome is nobody's now
            ahead.add_done_callback(_unawaited)
        await job.close()


def _unawaited(step: asyncio.Future[bytes | None]) -> None:
    if not step.cancelled() and step.exception() is not None:
        log.info("a segment made after its client left failed: %s", step.exception())


def _segment_times(result: Any, stretch: float, ahead: float = 0.0) -> list[dict[str, Any]]:
    """Where each spoken segment (a sentence of plain input) lies in the audio sent, in seconds:
    polyvox's extension to the done event, for captions and highlighting as the audio plays."""
    if result is None:
        return []
    return [{"text": s.segment.written, "start": round(ahead + s.start / stretch, 3),
             "end": round(ahead + (s.start + s.duration) / stretch, 3)} for s in result.segments if s.engine]


def _delta(data: bytes) -> bytes:
    return _event({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()})


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _on_this_machine(kernel: Any, engine: str, model: str) -> bool:
    """Whether a model can be served without a download (its weights are here, or it has none):
    a menu (Open WebUI's) offers only what answers; `polyvox models` lists the rest."""
    status = kernel.weights.status(engine, model)
    return status is None or status.state == "present"


def _voice_cards(service: SpeechService) -> list[VoiceCard]:
    cards: list[VoiceCard] = []
    for voice_id, voice in service.store.all():
        cards.append(VoiceCard(id=voice_id, name=voice.name, engine=None, languages=[], clones=True))
    for spec in service.kernel.engines():
        cards += [VoiceCard(id=v, name=v, engine=spec.name, languages=list(spec.languages), clones=False)
                  for v in spec.voices]
    cards += [VoiceCard(id=v, name=v, engine=None, languages=[], clones=False)
              for v in OPENAI_VOICES if v not in {c.id for c in cards}]
    return cards
