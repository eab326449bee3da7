"""Wyoming events read from a client within bounds, and checked before the server acts on them.

A Wyoming event is a JSON header line, then ``data_length`` bytes of JSON data and
``payload_length`` bytes of binary payload (the `wyoming` package's ``async_read_event``). That
reader trusts the lengths a client declares (it would buffer 300 MB on request) and lets odd
headers escape as exceptions; this one refuses anything over the limits below from the header
alone, before reading further, and turns everything it cannot read into a `BadEvent`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

#: The longest header line, in bytes (a header is a type and two lengths; older clients inline
#: their data in it, which a synthesize's text fits in many times over).
HEADER_LIMIT = 64 * 1024
#: The most JSON data one event may carry: a synthesize's text and voice. A long assistant
#: answer of 40,000 characters fits even with every character JSON-escaped.
DATA_LIMIT = 256 * 1024
#: The most binary payload one event may carry. A text-to-speech client sends none (audio flows
#: from the server to the client); a few KB are read and ignored, anything more is refused.
PAYLOAD_LIMIT = 4 * 1024


class BadEvent(Exception):
    """An event the server cannot read or does not take: answered with an ``error`` event
    carrying `code` (and counted with the HTTP status the same mistake gets), then a hang-up."""

    def __init__(self, message: str, code: str = "invalid_event", status: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """The next event, or None when the client has hung up (also mid-event); `BadEvent` for a
    header over `HEADER_LIMIT`, lengths over the limits, and what is not a JSON object in UTF-8."""
    try:
        line = await reader.readline()  # the reader's own limit (HEADER_LIMIT) stops a line without end
    except ValueError:
        raise BadEvent(f"an event header is longer than {HEADER_LIMIT} bytes", "too_large", 413) from None
    if not line.endswith(b"\n"):
        return None  # the end of the stream, perhaps inside a line
    if len(line) > HEADER_LIMIT:
        raise BadEvent(f"an event header is longer than {HEADER_LIMIT} bytes", "too_large", 413)
    header = _object(line, "the event header")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadEvent('the event header has no "type" string')
    data = header.get("data")
    if data is not None and not isinstance(data, dict):
        raise BadEvent(f'the "data" of a {kind[:40]!r} event must be a JSON object')
    data_length = _length(header, "data_length", DATA_LIMIT)
    payload_length = _length(header, "payload_length", PAYLOAD_LIMIT)
    try:
        data = {**(data or {}), **(_object(await reader.readexactly(data_length), "the event data")
                                   if data_length else {})}
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None
    return Event(type=kind, data=data, payload=payload)


def _object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadEvent(f"{what} is not UTF-8 text") from None
    except (ValueError, RecursionError):  # not JSON, digits past Python's limit, nesting past the stack
        raise BadEvent(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadEvent(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadEvent(f'"{key}" must be a whole number of bytes, not {str(value)[:40]!r}')
    if value > limit:
        raise BadEvent(f'"{key}" is {value} bytes: the limit is {limit}', "too_large", 413)
    return value


def check_text(event: Event) -> str:
    """The ``text`` of a synthesize or synthesize-chunk event, which must be a string."""
    text = event.data.get("text")
    if not isinstance(text, str):
        raise BadEvent(f'a {event.type!r} event needs "text", a string')
    return text


def check_voice(event: Event) -> None:
    """A synthesize's ``voice``, if given, is an object whose name and language are strings
    (a JSON null is no voice: the default)."""
    voice = event.data.get("voice")
    if voice is None:
        event.data.pop("voice", None)
        return
    if not isinstance(voice, dict) or any(not isinstance(voice.get(k), (str, type(None)))
                                          for k in ("name", "language", "speaker")):
        raise BadEvent(f'the "voice" of a {event.type!r} event must be an object such as {{"name": "alloy"}}')
