"""The studio's routes: the page and its files (no key needed: they hold nothing), and its JSON
and SSE API under ``/studio/api/`` (behind the same gate and keys as ``/v1``; a render holds a
slot of the same queue as a speech request).

A model's pull answers the same way (``progress``, then ``pulled`` or ``error``: `models`).
Renders answer as server-sent events on the POST itself (a browser's `EventSource` cannot send
the key): ``job`` (the planned segments), ``made`` (a segment's take, cached or not), ``words``
(its words, timed in the output), ``heard`` (a listener's verdict), ``warning``, then ``done``
(every segment's place and words) or ``error``. A client that leaves cancels the pass after
the segment in progress, as ``POST .../cancel`` does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from polyvox import Cancelled, Segment
from polyvox.errors import PolyvoxError
from polyvox.serve.errors import ApiError, bad_request, from_polyvox, not_found
from polyvox.serve.limits import Queue
from polyvox.serve.speech import SpeechService
from polyvox.serve.studio import books, downloads, models, script
from polyvox.serve.studio.jobs import Job, JobBook, Pass, owner_of, segment_audio

#: What the page may load and reach: its own files and API, audio it made (blob: URLs), nothing else.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}
_STATIC = {"studio.js": "text/javascript; charset=utf-8", "studio.css": "text/css; charset=utf-8"}


class ScriptBody(BaseModel):
    script: str = Field(max_length=2_000_000)
    cast: dict[str, str] = Field(default_factory=dict, max_length=200)
    #: The book the script came from (`POST /studio/api/books`): its ``# Title`` lines are chapters.
    book: str | None = Field(default=None, max_length=64)
    #: Every take brought to this many LUFS at assembly, true peaks under `true_peak` dBTP.
    loudness: float | None = Field(default=None, ge=-40, le=-5)
    true_peak: float | None = Field(default=None, ge=-12, le=0)
    #: Each chapter (the whole script where there are none) then brought to this RMS in dB,
    #: pauses included (ACX: -20; docs/books.md).
    chapter_rms: float | None = Field(default=None, ge=-40, le=-10)
    #: A faint noise of this RMS in dB under the whole output, so no silence is digital zero (ACX: -70).
    room_tone: float | None = Field(default=None, ge=-90, le=-50)
    #: The render this one follows: the takes its retakes chose are kept where a line is unchanged.
    after: str | None = Field(default=None, max_length=64)


class EditBody(BaseModel):
    text: str | None = None  # its length is checked against --max-input, in words a person reads


class PullBody(BaseModel):
    engine: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=300)


class PreviewBody(BaseModel):
    voice: str | None = Field(default=None, min_length=1, max_length=300)  # None: the default voice
    text: str = Field(default="Hello! This is how I sound.", min_length=1, max_length=300)


def _asset(name: str) -> bytes:
    return resources.files("polyvox.serve.studio").joinpath("static", name).read_bytes()


def install(app: FastAPI, service: SpeechService, queue: Queue) -> None:
    """Add the studio's page and API to `app`."""
    book = JobBook()
    shelf = books.Shelf()
    # uvicorn ends on SIGTERM by raising the signal again once shut down (no atexit): the
    # renders' files go when the app shuts down
    app.router.add_event_handler("shutdown", book.close)
    puller = models.Puller(service.kernel)
    config = service.config

    def owner(request: Request) -> str:
        return owner_of(request.headers.get("authorization"))

    def new_pass(job: Job, **retake: Any) -> Pass:
        """A pass rendered as the server renders speech requests (its --verify, its --batch-size)."""
        return Pass(service.kernel, job, verify=config.verify, batch_size=config.batch_size, **retake)

    def check_length(text: str, what: str = "script", param: str = "script") -> None:
        if len(text) > config.max_input_chars:
            raise ApiError(413, f"the {what} is {len(text)} characters long: the limit is {config.max_input_chars} "
                                "(--max-input)", param=param, code="input_too_long")

    def source(body: ScriptBody, request: Request) -> Any:
        """The script to render: its text, or the book it came from with its chapters as it now reads."""
        text = script.source_of(body.script)
        check_length(text)
        if body.book is None:
            return text
        try:
            return books.book_of(text, shelf.get(body.book, owner(request)))
        except PolyvoxError as exc:
            raise from_polyvox(exc) from None

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> Any:
        return Response(_asset("index.html"), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @app.get("/studio/static/{name}", include_in_schema=False)
    async def static(name: str) -> Any:
        if name not in _STATIC:
            raise not_found(f"no studio file {name[:100]!r}", None, "not_found")
        return Response(_asset(name), media_type=_STATIC[name], headers=PAGE_HEADERS)

    @app.get("/studio/api/voices")
    async def voices() -> Any:
        return await anyio.to_thread.run_sync(script.voice_list, service)

    @app.get("/studio/api/models")
    async def model_list() -> Any:
        return {"models": await anyio.to_thread.run_sync(models.model_list, service.kernel)}

    @app.post("/studio/api/models/pull")
    async def pull(body: PullBody) -> Any:
        await anyio.to_thread.run_sync(puller.check, body.engine, body.model)
        return StreamingResponse(puller.start(body.engine, body.model), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    @app.post("/studio/api/books")
    async def open_book(request: Request, name: str) -> Any:
        data = await request.body()
        if not data:
            raise bad_request("the uploaded book is empty: send the file's bytes as the body", "file", "empty_input")
        opened, text = await anyio.to_thread.run_sync(books.open_book, data, name)
        check_length(text)
        if opened is None:  # a .txt without chapter headings: a script
            return {"book": None, "script": text}
        return {"book": books.summary(shelf.add(owner(request), opened), opened), "script": text}

    @app.post("/studio/api/parse")
    async def parse(body: ScriptBody, request: Request) -> Any:
        offsets = books.line_offsets(body.script) if body.book is not None else None
        return await anyio.to_thread.run_sync(script.read, service, source(body, request), body.cast, offsets)

    @app.post("/studio/api/autocast")
    async def autocast(body: ScriptBody, request: Request) -> Any:
        return {"cast": await anyio.to_thread.run_sync(script.auto_cast, service, source(body, request))}

    @app.post("/studio/api/preview")
    async def preview(body: PreviewBody) -> Any:
        voice = await anyio.to_thread.run_sync(service.resolve_voice, body.voice, None) if body.voice else None
        queue.enter()
        try:
            result = await anyio.to_thread.run_sync(lambda: service.kernel.render([Segment(text=body.text)],
                                                                                  voice=voice))
        except PolyvoxError as exc:
            raise from_polyvox(exc) from None
        finally:
            queue.leave()
        assert result.audio is not None
        # said with the audio: an uploaded voice an engine cannot clone plays as that engine's own
        warned = {"X-Polyvox-Warning": "; ".join(result.warnings).encode("ascii", "replace").decode()}
        return Response(result.audio.to_bytes("WAV"), media_type="audio/wav", headers=warned if result.warnings else {})

    @app.post("/studio/api/renders")
    async def render(body: ScriptBody, request: Request) -> Any:
        given = source(body, request)
        for name in ("true_peak", "chapter_rms", "room_tone"):
            if getattr(body, name) is not None and body.loudness is None:
                raise bad_request(f"{name} applies with a loudness target: give loudness too", name)
        voice, cast = await anyio.to_thread.run_sync(script.resolve_cast, service, body.cast)
        job = Job(owner(request), given, voice, cast, loudness=body.loudness, true_peak=body.true_peak,
                  chapter_rms=body.chapter_rms, room_tone=body.room_tone,
                  offsets=books.line_offsets(body.script) if body.book is not None else None)
        if body.after:  # a retake chosen in the render before stays chosen (a new seed lived only there)
            try:
                job.seeds = dict(book.get(body.after, owner(request)).seeds)
            except ApiError:
                pass  # that render is gone from the server: its retakes with it
        book.add(job)
        return await _run(job, lambda: new_pass(job), request)

    @app.post("/studio/api/renders/{job_id}/segments/{index}")
    async def retake(job_id: str, index: int, body: EditBody, request: Request) -> Any:
        job = book.get(job_id, owner(request))
        if job.subtitles:
            raise bad_request("a segment of subtitles is made again by rendering the file again", "index")
        if job.output is None:
            raise ApiError(409, "this render has not finished: retake a segment once it has", code="render_running")
        if body.text is not None:
            check_length(body.text, "segment's new text", "text")
        return await _run(job, lambda: new_pass(job, retake=index, text=body.text), request)

    @app.post("/studio/api/renders/{job_id}/cancel")
    async def cancel(job_id: str, request: Request) -> Any:
        job = book.get(job_id, owner(request))
        if job.cancel is not None:
            job.cancel.cancel()
        return {"id": job.id, "cancelled": True}

    @app.get("/studio/api/renders/{job_id}/segments/{index}.wav")
    async def segment(job_id: str, index: int, request: Request) -> Any:
        job = book.get(job_id, owner(request))
        audio = await anyio.to_thread.run_sync(segment_audio, service.kernel, job, index)
        return Response(audio.to_bytes("WAV"), media_type="audio/wav", headers={"Cache-Control": "no-store"})

    @app.get("/studio/api/renders/{job_id}/output.{fmt}")
    async def output(job_id: str, fmt: str, request: Request) -> Any:
        job = book.get(job_id, owner(request))
        if job.output is None:
            raise ApiError(409, "this render has not finished", code="render_running")
        data, media = await anyio.to_thread.run_sync(downloads.encode, job, fmt)
        headers = {"Cache-Control": "no-store",
                   "Content-Disposition": downloads.disposition(downloads.name_of(job, fmt))}
        if isinstance(data, Path):  # a file made for this download: sent, then removed
            return FileResponse(data, media_type=media, headers=headers,
                                background=BackgroundTask(data.unlink, missing_ok=True))
        return Response(data, media_type=media, headers=headers)

    async def _run(job: Job, make: Callable[[], Pass], request: Request) -> Any:
        """A pass over `job` as SSE: planned before the headers (bad input is a proper status),
        then streamed; one pass per job at a time, each holding a slot of the server's queue."""
        if not job.lock.acquire(blocking=False):
            raise ApiError(409, "this render is busy: wait for it or cancel it", code="render_running")
        try:
            queue.enter()
        except BaseException:
            job.lock.release()
            raise
        try:
            planned = make()
        except BaseException:
            queue.leave()
            job.lock.release()
            raise
        try:
            await anyio.to_thread.run_sync(planned.start)
        except BaseException as exc:
            await _release(planned)
            if isinstance(exc, PolyvoxError):
                raise from_polyvox(exc) from None
            raise
        return _Events(_events(planned, request), planned, media_type="text/event-stream",
                       headers={"Cache-Control": "no-store"})

    async def _release(planned: Pass) -> None:
        if planned.released:
            return
        planned.released = True
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(planned.close)
        queue.leave()
        planned.job.lock.release()

    async def _events(planned: Pass, request: Request) -> AsyncIterator[bytes]:
        try:
            more = True
            while more:
                for event in _drain(planned):
                    yield event
                if await request.is_disconnected():
                    return
                if planned.cancel.cancelled:
                    yield _sse({"type": "cancelled", "id": planned.job.id})
                    return
                more = await anyio.to_thread.run_sync(planned.step)
            for event in _drain(planned):
                yield event
        except PolyvoxError as exc:
            for event in _drain(planned):
                yield event
            kind = "cancelled" if isinstance(exc, Cancelled) else "error"
            yield _sse({"type": kind, "id": planned.job.id, **from_polyvox(exc).body()})
        finally:
            await _release(planned)

    class _Events(StreamingResponse):
        def __init__(self, body: AsyncIterator[bytes], planned: Pass, **kwargs: Any):
            super().__init__(body, **kwargs)
            self._planned = planned

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            try:
                await super().__call__(scope, receive, send)
            finally:
                await _release(self._planned)


def _drain(planned: Pass) -> list[bytes]:
    out = []
    while planned.events:
        out.append(_sse(planned.events.pop(0)))
    return out


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def studio_body_limits(max_input_chars: int, max_body_bytes: int) -> dict[tuple[str, str], int]:
    """The studio's routes that take a whole script (JSON may escape a character as 12 bytes),
    and the book it opens (a file, bounded as a voice upload is)."""
    size = 64 * 1024 + 12 * max_input_chars
    return {("POST", "/studio/api/books"): max_body_bytes,
            **{("POST", f"/studio/api/{name}"): size for name in ("parse", "autocast", "renders")}}
