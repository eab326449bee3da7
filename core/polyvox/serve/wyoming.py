"""The Wyoming protocol (Home Assistant's voice pipeline) on the same kernel as the HTTP API.

``describe`` -> ``info`` (one program, "polyvox", with every server and engine voice);
``synthesize`` -> ``audio-start``, ``audio-chunk``..., ``audio-stop``; streaming synthesis
(``synthesize-start``, ``synthesize-chunk``..., ``synthesize-stop``) speaks each sentence as
soon as it is complete, then answers ``synthesize-stopped``. Requests resolve exactly like
``POST /v1/audio/speech`` with model ``tts-1`` (map it with ``--model-alias tts-1=ENGINE``).

The HTTP server's limits hold here too: each synthesize takes a slot of the same queue
(``--max-queue``; a full queue is an ``error`` event with code ``queue_full``), requests are
counted in ``/metrics`` with ``protocol="wyoming"``, and events are read within the bounds of
`polyvox.serve.wyoming_events`. Whatever a client sends, it gets an ``error`` event and the
connection is closed; the server logs one line and serves on.

With ``--verify`` every segment is heard before it is sent, as over HTTP, and the answer's
``audio-stop`` carries the verdicts (``polyvox_verification``).

Wyoming has no authentication, so it listens on loopback unless ``--no-auth`` is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

import anyio
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

import polyvox
from polyvox import sentences
from polyvox.errors import PolyvoxError
from polyvox.serve.config import OPENAI_VOICES, is_loopback
from polyvox.serve.errors import ApiError, bad_request, from_polyvox, too_large
from polyvox.serve.limits import Queue
from polyvox.serve.metrics import Metrics
from polyvox.serve.schemas import SpeechRequest
from polyvox.serve.speech import SpeechService
from polyvox.serve.wyoming_events import HEADER_LIMIT, BadEvent, check_text, check_voice, read_event

log = logging.getLogger("polyvox.serve")
_URI = re.compile(r"^tcp://(?P<host>\[[^\]]+\]|[^:/]+):(?P<port>\d{1,5})$")
#: 16-bit samples in chunks of about 0.1 s at 22 kHz.
_CHUNK_SAMPLES = 2048
#: The OpenAI model name every Wyoming request stands for (`--model-alias tts-1=ENGINE`).
_MODEL = "tts-1"
#: Seconds a client may take to send its next event (Home Assistant opens a connection per
#: request and sends at once; a language model streaming an answer pauses far less).
IDLE_SECONDS = 60.0
#: Connections open at once; one more is answered with an error and closed.
MAX_CONNECTIONS = 64
#: The route a request is counted under in /metrics, by event type (a streaming synthesis counts
#: once, at its stop or its error); anything else that fails counts as "invalid".
_ROUTES = {"describe": "describe", "synthesize": "synthesize", "synthesize-start": "synthesize-stream",
           "synthesize-chunk": "synthesize-stream", "synthesize-stop": "synthesize-stream"}


def parse_uri(uri: str, no_auth: bool = False) -> tuple[str, int]:
    match = _URI.match(uri)
    if not match or not 0 < int(match["port"]) < 65536:
        raise PolyvoxError(f"--wyoming {uri!r} is not valid: use tcp://HOST:PORT, e.g. tcp://127.0.0.1:10200")
    host = match["host"].strip("[]")
    if not is_loopback(host) and not no_auth:
        raise PolyvoxError(f"refusing to serve Wyoming on {host!r}: the protocol has no keys, so anyone on the "
                           "network could use it; give --no-auth if that is what you want")
    return host, int(match["port"])


#: Where Home Assistant's voice list links its users (the project's page).
HOMEPAGE = "https://github.com/polyvox/polyvox"


def describe(service: SpeechService) -> Info:
    about = Attribution(name="polyvox", url=HOMEPAGE)
    # only the voices and languages a request can use: with tts-1 mapped to one engine, Home
    # Assistant would otherwise offer another engine's voices, or languages the engine lacks,
    # and each would then be refused
    engine, _ = service.resolve_model(_MODEL, None)
    specs = [s for s in service.kernel.engines() if engine is None or s.name == engine]
    codes = sorted(service.kernel.language_codes()) if engine is None else list(specs[0].languages)
    clones = any(s.capabilities.uses_reference_audio for s in specs)  # else an upload speaks as the default
    voices = [TtsVoice(name=voice_id, attribution=about, installed=True, description=voice.name,
                       version=None, languages=codes) for voice_id, voice in service.store.all() if clones]
    for spec in specs:
        made_by = Attribution(name=f"{spec.name} (through polyvox)", url=HOMEPAGE)  # whose voice it is
        voices += [TtsVoice(name=v, attribution=made_by, installed=True, description=f"{spec.name} voice {v}",
                            version=None, languages=list(spec.languages)) for v in spec.voices]
    voices += [TtsVoice(name=v, attribution=about, installed=True, description="the engine's default voice",
                        version=None, languages=codes) for v in OPENAI_VOICES[:1]]
    program = TtsProgram(name="polyvox", attribution=about, installed=True,
                         description="polyvox: every installed engine, one cache", version=polyvox.__version__,
                         voices=voices, supports_synthesize_streaming=True)
    return Info(tts=[program])


class Handler(AsyncEventHandler):
    """One Wyoming connection."""

    def __init__(self, service: SpeechService, queue: Queue, metrics: Metrics | None, *args: Any):
        super().__init__(*args)
        self.service = service
        self.queue = queue
        self.metrics = metrics
        self.streaming = False
        self.voice: Any = None
        self.pending = ""
        self.rate: int | None = None
        self.heard: list[polyvox.VerifyReport] = []  # the verdicts of the answer so far (--verify)
        self.peer = self.writer.get_extra_info("peername")

    async def write_event(self, event: Event) -> None:
        """`event` sent; a client that reads nothing for the server's send timeout is gone (its
        place in the queue with it)."""
        limit = self.service.config.send_timeout
        try:
            await asyncio.wait_for(super().write_event(event), limit)
        except TimeoutError:
            raise ConnectionError(f"the client read nothing for {limit:g} s") from None

    async def run(self) -> None:
        """Events until the client hangs up or an error ends the connection; never raises but
        for cancellation (the `wyoming` package's loop lets a bad event escape its task)."""
        peer = self.peer
        try:
            while True:
                try:
                    event = await asyncio.wait_for(read_event(self.reader), IDLE_SECONDS)
                except BadEvent as exc:
                    log.info("Wyoming client %s sent a bad event (%s); closing its connection", peer, exc)
                    self._count("invalid", exc.status)
                    await self.write_event(Error(text=exc.message, code=exc.code).event())
                    break
                except TimeoutError:
                    await self.write_event(Error(text=f"no event for {IDLE_SECONDS:g} s", code="timeout").event())
                    break
                if event is None or not await self.handle_event(event):
                    break
        except (ConnectionError, OSError) as exc:  # the client left while we wrote; nothing to answer
            log.debug("Wyoming client %s went away: %s", peer, exc)
        finally:
            self.writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer.wait_closed(), 5)

    async def handle_event(self, event: Event) -> bool:
        try:
            return await self._handle(event)
        except PolyvoxError as exc:
            error = from_polyvox(exc)
        except ApiError as exc:
            error = exc
        except BadEvent as exc:
            log.info("Wyoming client %s sent a bad %r event (%s); closing its connection", self.peer,
                     event.type[:40], exc)
            error = ApiError(exc.status, exc.message, code=exc.code)
        except OSError:  # the client went away: run() ends the connection quietly
            raise
        except Exception:
            log.exception("internal error on a Wyoming %r event", event.type[:40])
            error = ApiError(500, "internal error", type="server_error", code="internal_error")
        self._count(_ROUTES.get(event.type, "invalid"), error.status)
        # then hang up, as Wyoming's own servers do: Home Assistant reads until the audio stops
        # or the connection ends, and would otherwise wait for audio that never comes
        await self.write_event(Error(text=error.message, code=error.code).event())
        return False

    def _count(self, route: str, status: int) -> None:
        if self.metrics is not None:
            self.metrics.requests.labels("wyoming", route, str(status)).inc()

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        """A place in the server's queue (shared with HTTP) while this connection renders."""
        self.queue.enter()
        try:
            yield
        finally:
            self.queue.leave()

    async def _handle(self, event: Event) -> bool:
        if Describe.is_type(event.type):  # described afresh: voices uploaded since start-up appear
            await self.write_event((await anyio.to_thread.run_sync(describe, self.service)).event())
            self._count(event.type, 200)
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
        elif SynthesizeStart.is_type(event.type):
            check_voice(event)
            start = SynthesizeStart.from_event(event)
            self.streaming, self.voice, self.pending, self.rate, self.heard = True, start.voice, "", None, []
        elif SynthesizeChunk.is_type(event.type):
            text = check_text(event)
            if not self.streaming:
                raise BadEvent("synthesize-chunk before synthesize-start: start a streaming synthesis first",
                               "no_stream")
            await self._chunk(text)
        elif SynthesizeStop.is_type(event.type):
            if not self.streaming:  # nothing to finish: said so at once, not left to time out
                await self.write_event(SynthesizeStopped().event())
            else:
                with self._slot():
                    for piece in self._pieces(self.pending):
                        await self._speak(piece)
                if self.rate is not None:
                    await self.write_event(self._stop())
                self.streaming, self.pending = False, ""
                await self.write_event(SynthesizeStopped().event())
                self._count("synthesize-stream", 200)
        elif Synthesize.is_type(event.type):
            check_text(event)
            check_voice(event)
            if not self.streaming:  # while streaming: sent for old servers, and not spoken
                await self._synthesize(Synthesize.from_event(event))
                self._count(event.type, 200)
        else:
            raise BadEvent(f"unknown event type {event.type[:40]!r}: this server takes describe, synthesize, "
                           "synthesize-start, synthesize-chunk, synthesize-stop and ping", "unknown_event")
        return True

    async def _synthesize(self, synth: Synthesize) -> None:
        self.voice, self.rate, self.heard = synth.voice, None, []
        if not synth.text.strip():
            raise bad_request("the text to synthesize is empty", "text", "empty_input")
        with self._slot():  # one slot for the whole answer: its pieces are not refused halfway
            for piece in self._pieces(synth.text):
                await self._speak(piece)
        if self.rate is not None:
            await self.write_event(self._stop())

    def _stop(self) -> Event:
        """``audio-stop``; on a server that verifies (``--verify``), with the verdicts of every
        segment of the answer under ``polyvox_verification`` (as the HTTP server's SSE done event
        has them; clients that do not know the key ignore it)."""
        event = AudioStop().event()
        if self.service.config.verify is None:
            return event
        heard, self.heard = self.heard, []
        if not heard:
            return event
        return Event(type=event.type, data={**(event.data or {}),
                                            "polyvox_verification": polyvox.VerifyReport.joined(heard).verdicts()})

    async def _chunk(self, text: str) -> None:
        self.pending += text
        done = sentences(self.pending, self._language())
        limit = self.service.config.max_input_chars
        if len(done) < 2 and len(self.pending) <= limit:
            return
        with self._slot():
            if len(done) > 1:  # all but the last are complete sentences
                for sentence in done[:-1]:
                    await self._speak(sentence)
                # the splitter trims the last one; its trailing space ends a word the next chunk
                # must not run into ("The " + "end." is "The end.", not "Theend.")
                self.pending = done[-1] + self.pending[len(self.pending.rstrip()):]
            while len(self.pending) > limit:  # a sentence that never ends: spoken in pieces, memory bounded
                head, self.pending = _split_at_space(self.pending, limit)
                await self._speak(head)

    def _pieces(self, text: str) -> list[str]:
        """`text` as requests within the server's input limit, cut between sentences: a voice
        assistant's long answer is spoken whole (over HTTP a client could split it; Home
        Assistant cannot), and text under the limit stays one request, pauses and all."""
        limit = self.service.config.max_input_chars
        if len(text) <= limit:
            return [text]
        if polyvox.is_ssml(text):  # a document cut between sentences is no document
            raise too_large(f"the SSML document is {len(text)} characters long and cannot be spoken in pieces: "
                            f"the limit is {limit} (--max-input)", "text")
        pieces = [""]
        for sentence in sentences(text, self._language()):
            while len(sentence) > limit:  # one sentence over the limit: cut between words
                head, sentence = _split_at_space(sentence, limit)
                pieces += [head, ""]
            if pieces[-1] and len(pieces[-1]) + 1 + len(sentence) > limit:
                pieces.append("")
            pieces[-1] = f"{pieces[-1]} {sentence}" if pieces[-1] else sentence
        return [p for p in pieces if p]

    def _language(self) -> str | None:
        return getattr(self.voice, "language", None)

    async def _speak(self, text: str) -> None:
        if not text.strip() or (self.streaming and polyvox.says_nothing(text)):
            return  # a streamed answer's "👍" sentence: nothing to say, and the rest still to come
        name = getattr(self.voice, "name", None) or "alloy"
        request = SpeechRequest(model=_MODEL, input=text, voice=name, language=self._language(),
                                response_format="pcm")
        planned = await anyio.to_thread.run_sync(self.service.start, request)
        try:
            if self.rate is None:
                self.rate = planned.stream.sample_rate
                await self.write_event(AudioStart(rate=self.rate, width=2, channels=1).event())
            while (chunk := await anyio.to_thread.run_sync(planned.next_chunk)) is not None:
                data = chunk.resample(self.rate).to_bytes("pcm")
                for at in range(0, len(data), 2 * _CHUNK_SAMPLES):
                    await self.write_event(AudioChunk(rate=self.rate, width=2, channels=1,
                                                      audio=data[at:at + 2 * _CHUNK_SAMPLES]).event())
            heard = getattr(planned.stream.result, "verification", None)
            if heard is not None:
                self.heard.append(heard)
        finally:
            planned.cancel.cancel()
            await anyio.to_thread.run_sync(planned.stream.close)


def _split_at_space(text: str, limit: int) -> tuple[str, str]:
    """`text` cut at its last space within `limit` characters (at `limit` if it has none)."""
    at = text.rfind(" ", 1, limit + 1)
    at = at if at > 0 else limit
    return text[:at], text[at:].lstrip()


async def serve_wyoming(uri: str, service: SpeechService, no_auth: bool = False,
                        ready: asyncio.Event | None = None, queue: Queue | None = None,
                        metrics: Metrics | None = None) -> None:
    """Serve Wyoming on `uri` until cancelled. `queue` and `metrics` are the HTTP server's, so
    both protocols share one queue (without one, Wyoming gets its own of ``--max-queue``)."""
    host, port = parse_uri(uri, no_auth)
    queue = queue if queue is not None else Queue(service.config.max_queue)
    handlers: set[asyncio.Task[Any]] = set()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = Handler(service, queue, metrics, reader, writer)
        if len(handlers) >= MAX_CONNECTIONS:
            log.info("Wyoming: %d connections are open; refusing another", len(handlers))
            with contextlib.suppress(OSError):
                await handler.write_event(Error(text=f"the server has {MAX_CONNECTIONS} Wyoming connections open; "
                                                     "retry shortly", code="too_many_connections").event())
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await handler.run()
        finally:
            handlers.discard(task)

    # the reader's limit bounds a header line: a longer one is refused without being kept
    server = await asyncio.start_server(connected, host, port, limit=HEADER_LIMIT)
    log.info("Wyoming on %s", uri)
    if ready is not None:
        ready.set()
    try:
        async with server:
            await server.serve_forever()
    finally:  # connections end with the server (their renders stop after the segment in progress)
        for task in list(handlers):
            task.cancel()
        if handlers:
            await asyncio.wait(list(handlers), timeout=10)
