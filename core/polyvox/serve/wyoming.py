"""The Wyoming protocol (Home Assistant's voice pipeline) on the same kernel as the HTTP API.

``describe`` -> ``info`` (one program, "polyvox", with every server and engine voice);
``synthesize`` -> ``audio-start``, ``audio-chunk``..., ``audio-stop``; streaming synthesis
(``synthesize-start``, ``synthesize-chunk``..., ``synthesize-stop``) speaks each sentence as
soon as it is complete, then answers ``synthesize-stopped``. Requests resolve exactly like
``POST /v1/audio/speech`` with model ``tts-1`` (map it with ``--model-alias tts-1=ENGINE``).

Wyoming has no authentication, so it listens on loopback unless ``--no-auth`` is given.
"""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any

import anyio
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler, AsyncServer
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

import polyvox
from polyvox import sentences
from polyvox.errors import PolyvoxError
from polyvox.serve.config import OPENAI_VOICES, is_loopback
from polyvox.serve.errors import ApiError, bad_request, from_polyvox
from polyvox.serve.schemas import SpeechRequest
from polyvox.serve.speech import SpeechService

log = logging.getLogger("polyvox.serve")
_URI = re.compile(r"^tcp://(?P<host>\[[^\]]+\]|[^:/]+):(?P<port>\d{1,5})$")
#: 16-bit samples in chunks of about 0.1 s at 22 kHz.
_CHUNK_SAMPLES = 2048
#: The OpenAI model name every Wyoming request stands for (`--model-alias tts-1=ENGINE`).
_MODEL = "tts-1"


def parse_uri(uri: str, no_auth: bool = False) -> tuple[str, int]:
    match = _URI.match(uri)
    if not match or not 0 < int(match["port"]) < 65536:
        raise PolyvoxError(f"--wyoming {uri!r} is not valid: use tcp://HOST:PORT, e.g. tcp://127.0.0.1:10200")
    host = match["host"].strip("[]")
    if not is_loopback(host) and not no_auth:
        raise PolyvoxError(f"refusing to serve Wyoming on {host!r}: the protocol has no keys, so anyone on the "
                           "network could use it; give --no-auth if that is what you want")
    return host, int(match["port"])


def describe(service: SpeechService) -> Info:
    about = Attribution(name="polyvox", url="https://github.com/polyvox")
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
        voices += [TtsVoice(name=v, attribution=about, installed=True, description=f"{spec.name} voice {v}",
                            version=None, languages=list(spec.languages)) for v in spec.voices]
    voices += [TtsVoice(name=v, attribution=about, installed=True, description="the engine's default voice",
                        version=None, languages=codes) for v in OPENAI_VOICES[:1]]
    program = TtsProgram(name="polyvox", attribution=about, installed=True,
                         description="polyvox: every installed engine, one cache", version=polyvox.__version__,
                         voices=voices, supports_synthesize_streaming=True)
    return Info(tts=[program])


class Handler(AsyncEventHandler):
    """One Wyoming connection."""

    def __init__(self, service: SpeechService, *args: Any):
        super().__init__(*args)
        self.service = service
        self.streaming = False
        self.voice: Any = None
        self.pending = ""
        self.rate: int | None = None

    async def handle_event(self, event: Event) -> bool:
        try:
            return await self._handle(event)
        except PolyvoxError as exc:
            error = from_polyvox(exc)
        except ApiError as exc:
            error = exc
        # then hang up, as Wyoming's own servers do: Home Assistant reads until the audio stops
        # or the connection ends, and would otherwise wait for audio that never comes
        await self.write_event(Error(text=error.message, code=error.code).event())
        return False

    async def _handle(self, event: Event) -> bool:
        if Describe.is_type(event.type):  # described afresh: voices uploaded since start-up appear
            await self.write_event((await anyio.to_thread.run_sync(describe, self.service)).event())
        elif SynthesizeStart.is_type(event.type):
            start = SynthesizeStart.from_event(event)
            self.streaming, self.voice, self.pending, self.rate = True, start.voice, "", None
        elif SynthesizeChunk.is_type(event.type) and self.streaming:
            self.pending += SynthesizeChunk.from_event(event).text
            done = sentences(self.pending, self._language())
            if len(done) > 1:  # all but the last are complete sentences
                for sentence in done[:-1]:
                    await self._speak(sentence)
                # the splitter trims the last one; its trailing space ends a word the next chunk
                # must not run into ("The " + "end." is "The end.", not "Theend.")
                self.pending = done[-1] + self.pending[len(self.pending.rstrip()):]
            limit = self.service.config.max_input_chars
            while len(self.pending) > limit:  # a sentence that never ends: spoken in pieces, memory bounded
                head, self.pending = _split_at_space(self.pending, limit)
                await self._speak(head)
        elif SynthesizeStop.is_type(event.type) and self.streaming:
            for piece in self._pieces(self.pending):
                await self._speak(piece)
            if self.rate is not None:
                await self.write_event(AudioStop().event())
            self.streaming, self.pending = False, ""
            await self.write_event(SynthesizeStopped().event())
        elif Synthesize.is_type(event.type) and not self.streaming:  # while streaming: sent for old servers
            synth = Synthesize.from_event(event)
            self.voice, self.rate = synth.voice, None
            if not synth.text.strip():
                raise bad_request("the text to synthesize is empty", "text", "empty_input")
            for piece in self._pieces(synth.text):
                await self._speak(piece)
            if self.rate is not None:
                await self.write_event(AudioStop().event())
        return True

    def _pieces(self, text: str) -> list[str]:
        """`text` as requests within the server's input limit, cut between sentences: a voice
        assistant's long answer is spoken whole (over HTTP a client could split it; Home
        Assistant cannot), and text under the limit stays one request, pauses and all."""
        limit = self.service.config.max_input_chars
        if len(text) <= limit:
            return [text]
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
        if not text.strip():
            return
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
        finally:
            planned.cancel.cancel()
            await anyio.to_thread.run_sync(planned.stream.close)


def _split_at_space(text: str, limit: int) -> tuple[str, str]:
    """`text` cut at its last space within `limit` characters (at `limit` if it has none)."""
    at = text.rfind(" ", 1, limit + 1)
    at = at if at > 0 else limit
    return text[:at], text[at:].lstrip()


async def serve_wyoming(uri: str, service: SpeechService, no_auth: bool = False,
                        ready: asyncio.Event | None = None) -> None:
    parse_uri(uri, no_auth)
    server = AsyncServer.from_uri(uri)
    log.info("Wyoming on %s", uri)
    if ready is not None:
        ready.set()
    await server.run(partial(Handler, service))
