"""Word times over HTTP (docs/words.md): `/v1/audio/speech` with ``"timestamps": true`` answers
JSON with the whole audio in base64 and its words; with ``"stream_format": "sse"`` it sends a
``speech.audio.words`` event after each segment's audio instead; and `/dev/captioned_speech`
answers in the shape Kokoro-FastAPI's route of that name does, so its clients work unchanged.

Times are seconds of the audio sent (after any time-stretch for `speed`); words are the input's
words as written. The JSON answers are made whole (the render runs to its end, holding a slot
of the queue), then sent.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

import anyio
from pydantic import Field

from polyvox.serve.encoding import Encoder, delay_of
from polyvox.serve.limits import Queue
from polyvox.serve.schemas import FORMATS, SpeechRequest
from polyvox.serve.speech import Speech, SpeechService


class CaptionedSpeechRequest(SpeechRequest):
    """Kokoro-FastAPI's captioned speech request: OpenAI's fields, its `model` optional, plus
    `stream` (default true: one JSON object per line) and `return_timestamps`; its other
    fields (`lang_code`, `normalization_options`, `return_download_link`, ...) are ignored."""

    model: str = Field(default="tts-1", min_length=1, max_length=200)
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    stream: bool = True
    return_timestamps: bool = True


def word_dicts(words: Any, stretch: float = 1.0, lead: float = 0.0) -> list[dict[str, Any]]:
    """Words as the speech route's JSON gives them, in seconds of the audio sent (`lead`: the
    encoder's delay a decoder plays first, `encoding.delay_of`)."""
    return [w.moved(lead, 1.0 / stretch).to_dict() for w in words]


def kokoro_timestamps(words: Any, stretch: float = 1.0, lead: float = 0.0) -> list[dict[str, Any]]:
    """Words as Kokoro-FastAPI's `timestamps` gives them."""
    return [{"word": d["word"], "start_time": d["start"], "end_time": d["end"]}
            for d in word_dicts(words, stretch, lead)]


def word_events(planned: Speech, lead: float = 0.0) -> list[bytes]:
    """SSE `speech.audio.words` events for the segments placed since the last call."""
    out = []
    while planned.words:
        event = planned.words.pop(0)
        payload = {"type": "speech.audio.words", "segment": event.index,
                   "words": word_dicts(event.words, planned.stretch, lead)}
        out.append(f"data: {json.dumps(payload)}\n\n".encode())
    return out


async def whole(service: SpeechService, queue: Queue, body: SpeechRequest) -> tuple[bytes, Speech]:
    """The request rendered to its end: the encoded audio, and the finished `Speech`."""
    queue.enter()
    try:
        planned = await anyio.to_thread.run_sync(service.start, body)
        try:
            data = await anyio.to_thread.run_sync(_encode, planned, body.response_format)
        finally:
            planned.cancel.cancel()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(planned.stream.close)
    finally:
        queue.leave()
    return data, planned


def speech_json(data: bytes, planned: Speech, body: SpeechRequest) -> dict[str, Any]:
    """`/v1/audio/speech` with timestamps: the audio and its words."""
    result = planned.stream.result
    words = result.words if result is not None else ()
    return {"audio": base64.b64encode(data).decode(), "audio_format": body.response_format,
            "content_type": FORMATS[body.response_format], "sample_rate": planned.stream.sample_rate,
            "words": word_dicts(words, planned.stretch, delay_of(body.response_format, planned.stream.sample_rate))}


def captioned_json(data: bytes, planned: Speech, body: CaptionedSpeechRequest) -> dict[str, Any]:
    """Kokoro-FastAPI's `CaptionedSpeechResponse`: base64 audio, its content type, the words."""
    result = planned.stream.result
    words = result.words if result is not None and body.return_timestamps else ()
    return {"audio": base64.b64encode(data).decode(), "audio_format": FORMATS[body.response_format],
            "timestamps": kokoro_timestamps(words, planned.stretch,
                                            delay_of(body.response_format, planned.stream.sample_rate))}


def _encode(planned: Speech, fmt: str) -> bytes:
    encoder = Encoder(fmt, planned.stream.sample_rate)
    parts = []
    try:
        while (chunk := planned.next_chunk()) is not None:
            parts.append(encoder.feed(chunk))
        parts.append(encoder.finish())
    except BaseException:
        encoder.abort()
        raise
    data = b"".join(parts)
    return _sized_wav(data) if fmt == "wav" else data


def _sized_wav(data: bytes) -> bytes:
    """A WAV made whole with its real sizes in the header, in place of the "unknown length"
    ones a stream carries (Python's wave module read 2,147,483,647 frames from those)."""
    at = data.find(b"data", 12)
    if not data.startswith(b"RIFF") or at < 0:
        return data
    out = bytearray(data)
    out[4:8] = (len(data) - 8).to_bytes(4, "little")
    out[at + 4 : at + 8] = (len(data) - at - 8).to_bytes(4, "little")
    return bytes(out)
