"""The wire format between the kernel and an engine worker: versioned, no pickle.

A frame is a 4-byte big-endian length, a UTF-8 JSON header of that length, then the raw
bytes of the blobs the header lists (``"blobs": [n1, n2, ...]``). Audio travels as raw
little-endian float32 samples in a blob, never as JSON numbers, so a minute of speech
costs a copy, not a parse. Everything else is JSON: the worker may run another Python,
another numpy, another torch, so nothing that needs the same code on both sides
(pickle) may cross.

Requests: ``{"v": VERSION, "op": ..., "args": {...}}`` (a ``hear`` request carries the audio to
hear as its blob). Replies: ``{"ok": result}`` or ``{"error": {"type", "message", "polyvox"}}``.
A worker serves listeners as it serves engines: its hello lists their specs beside the engines'.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import numpy as np

from polyvox.audio import Audio
from polyvox.errors import PolyvoxError
from polyvox.listen.heard import Heard, ListenerSpec, Word
from polyvox.plugin.spec import Capabilities, EngineSpec, ParamSpec
from polyvox.text.segment import Request
from polyvox.voices.voice import Voice
from polyvox.words.timing import WordTime

#: Bumped on any incompatible change; the worker refuses a kernel speaking another version.
VERSION = 1
_HEADER = struct.Struct(">I")
_MAX_HEADER = 64 * 1024 * 1024


class ProtocolError(PolyvoxError):
    """A frame that is not a frame: the other side is not a polyvox worker, or died mid-write."""


def write_frame(stream: BinaryIO, header: Mapping[str, Any], blobs: tuple[bytes, ...] | list[bytes] = ()) -> None:
    body = json.dumps({**header, "blobs": [len(b) for b in blobs]}, separators=(",", ":")).encode()
    stream.write(_HEADER.pack(len(body)) + body)
    for blob in blobs:
        stream.write(blob)
    stream.flush()


def read_frame(stream: BinaryIO | DeadlineReader) -> tuple[dict[str, Any], list[bytes]] | None:
    """The next frame, or None at a clean end of stream (between frames)."""
    raw = stream.read(_HEADER.size)
    if not raw:
        return None
    if len(raw) < _HEADER.size:
        raise ProtocolError("stream ended inside a frame header")
    (size,) = _HEADER.unpack(raw)
    if size > _MAX_HEADER:
        raise ProtocolError(f"frame header of {size} bytes is larger than {_MAX_HEADER}: not a polyvox worker?")
    body = _read_exactly(stream, size)
    try:
        header = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"frame header is not JSON: {exc}") from None
    blobs = [_read_exactly(stream, n) for n in header.pop("blobs", [])]
    return header, blobs


class FrameTimeout(PolyvoxError):
    """A frame that did not arrive whole by its deadline (a `DeadlineReader`'s)."""


class DeadlineReader:
    """A pipe read straight from its file descriptor, every read against one deadline, for
    `read_frame`: a frame must arrive whole in time, not only its first byte. `read(n)` gives n
    bytes, fewer only at the end of the stream, like a buffered stream's (whose buffer this
    never fills, so nothing waits in it unseen)."""

    def __init__(self, stream: Any, deadline: float):
        self.fd = stream.fileno()
        self.deadline = deadline  # on time.monotonic()
        self.started = False  # some of the frame came

    def read(self, size: int) -> bytes:
        chunks: list[bytes] = []
        while size > 0:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise FrameTimeout("no whole frame before the deadline")
            chunk = os.read(self.fd, size)
            if not chunk:
                break
            self.started = True
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


def _read_exactly(stream: BinaryIO | DeadlineReader, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise ProtocolError(f"stream ended {left} bytes before the end of a frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- plain data both ways -------------------------------------------------------------------
def encode_voice(voice: Voice) -> dict[str, Any]:
    """Every field of `voice` (a path as text): a field added to `Voice` crosses without a change here."""
    data = {field.name: getattr(voice, field.name) for field in attrs.fields(Voice)}
    return {**data, "audio": None if voice.audio is None else str(voice.audio), "params": dict(voice.params)}


def decode_voice(data: Mapping[str, Any]) -> Voice:
    return Voice(**data)


def encode_request(request: Request) -> dict[str, Any]:
    """Every field of `request`, its voices as `encode_voice` gives them (an engine that declares
    an emotion reference or vector receives it as it would in process)."""
    data = {field.name: getattr(request, field.name) for field in attrs.fields(Request)}
    emotion = request.emotion
    return {**data, "voice": encode_voice(request.voice), "params": dict(request.params),
            "emotion": None if emotion is None else encode_voice(emotion),
            "emotion_vector": dict(request.emotion_vector)}


def decode_request(data: Mapping[str, Any]) -> Request:
    emotion = data.get("emotion")
    return Request(**{**data, "voice": decode_voice(data["voice"]),
                      "emotion": None if emotion is None else decode_voice(emotion)})


def encode_audio(audio: Audio, blobs: list[bytes]) -> dict[str, Any]:
    """Append the samples to `blobs`; return the header part that points at them."""
    blobs.append(np.ascontiguousarray(audio.samples, dtype="<f4").tobytes())
    return {"sample_rate": audio.sample_rate, "blob": len(blobs) - 1, "words": [w.to_dict(None) for w in audio.words]}


def decode_audio(data: Mapping[str, Any], blobs: list[bytes]) -> Audio:
    return Audio(np.frombuffer(blobs[data["blob"]], dtype="<f4"), data["sample_rate"],
                 words=[WordTime.from_dict(w) for w in data.get("words", ())])


def encode_spec(spec: EngineSpec) -> dict[str, Any]:
    return attrs.asdict(spec)


def decode_spec(data: Mapping[str, Any]) -> EngineSpec:
    fields = dict(data)
    fields["params"] = tuple(ParamSpec(**p) for p in fields.get("params", ()))
    fields["capabilities"] = Capabilities(**fields.get("capabilities", {}))
    if fields.get("join") is not None:  # an engine's preferred join crosses as its fields
        from polyvox.render.assembly import JoinConfig

        fields["join"] = JoinConfig(**fields["join"])
    return EngineSpec(**fields)


def encode_paths(paths: list[str | Path] | None) -> list[str] | None:
    return None if paths is None else [str(p) for p in paths]


def encode_listener_spec(spec: ListenerSpec) -> dict[str, Any]:
    return attrs.asdict(spec)


def decode_listener_spec(data: Mapping[str, Any]) -> ListenerSpec:
    return ListenerSpec(**data)


def encode_heard(heard: Heard) -> dict[str, Any]:
    return heard.to_dict()


def decode_heard(data: Mapping[str, Any]) -> Heard:
    return Heard(**{**data, "words": [Word(**w) for w in data["words"]]})
