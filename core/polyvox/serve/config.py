"""The server's settings: one frozen record, validated when the server starts, so a bad flag
fails at start-up with one line instead of on the first request."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from polyvox.errors import PolyvoxError
from polyvox.words import check_word_times

#: OpenAI's voice names. Each maps to a voice by `voice_map`; unmapped ones speak with the
#: engine's default voice, so clients that only offer these names work out of the box.
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
                 "marin", "cedar")

#: OpenAI's model names. Each maps to an engine (or engine:model) by `model_aliases`; the
#: empty target lets the kernel choose the engine for the language, as `polyvox say` does.
OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")

#: A dated snapshot of a model name ("gpt-4o-mini-tts-2025-12-15") means what the name means.
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")

#: A web origin: scheme, host and optional port, no path (what a browser sends in `Origin`).
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:]+(:\d{1,5})?")


#: The shortest API key accepted: anything shorter can be guessed by trying.
MIN_KEY_CHARS = 16


def read_keys(path: str | Path) -> tuple[str, ...]:
    """The API keys in a file, one a line (blank lines and lines starting with # skipped), so
    that no key need be on a command line, where every user of the machine sees it (`ps`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PolyvoxError(f"serve: cannot read the API key file {str(path)!r}: {reason}") from None
    keys = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    if not keys:
        raise PolyvoxError(f"serve: the API key file {str(path)!r} holds no key: write one key a line")
    return keys


def _mapping(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType({str(k).lower(): str(v) for k, v in (value or {}).items()})


def _positive(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise PolyvoxError(f"serve: {attribute.name}={value!r} is not valid: expected 1 or more")


def _positive_seconds(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not value > 0:
        raise PolyvoxError(f"serve: {attribute.name}={value!r} is not valid: expected a number of seconds above 0")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.frozen
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    #: Bearer keys clients must send; empty means no authentication.
    api_keys: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: Allow a non-loopback bind without keys (the user said so explicitly).
    no_auth: bool = False
    #: Where uploaded voices live (and the server's own voices are read from).
    voices_dir: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    #: OpenAI model name -> "engine" or "engine:model" ("" = the kernel's choice).
    model_aliases: Mapping[str, str] = attrs.field(factory=dict, converter=_mapping)
    #: OpenAI voice name -> a server voice, or an engine voice.
    voice_map: Mapping[str, str] = attrs.field(factory=dict, converter=_mapping)
    #: The longest `input` accepted, in characters (OpenAI's limit).
    max_input_chars: int = attrs.field(default=4096, validator=_positive)
    #: The largest voice upload accepted, in bytes (other routes take what they need: serve/gate.py).
    max_body_bytes: int = attrs.field(default=16 * 1024 * 1024, validator=_positive)
    #: The longest uploaded voice, in seconds.
    max_voice_seconds: float = 60.0
    #: Requests rendering or waiting at once; more get 429 with Retry-After.
    max_queue: int = attrs.field(default=32, validator=_positive)
    #: Segments per engine call for engines that batch, shared by concurrent requests of the
    #: same model and voice (1: every segment on its own; None: the size each engine declares
    #: for its device, else 1). Engines that do not batch ignore it.
    batch_size: int | None = attrs.field(default=None, validator=attrs.validators.optional(_positive))
    #: Web origins whose pages may call the server from a browser (CORS); none by default, so a
    #: page the user visits cannot use a server on their machine. "*" allows every origin.
    cors_origins: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: Seconds a request's whole body may take to arrive (a slow sender holds a connection and
    #: its buffer); later, 408.
    body_timeout: float = attrs.field(default=30.0, validator=_positive_seconds)
    #: Seconds one piece of a response may wait for the client to read (a client that stops
    #: reading holds its place in the queue); then its connection is closed.
    send_timeout: float = attrs.field(default=60.0, validator=_positive_seconds)
    #: Seconds a request's headers may take, from the connection's start or the previous
    #: response's end (an idle or trickling client is closed then).
    header_timeout: float = attrs.field(default=10.0, validator=_positive_seconds)
    #: Seconds an idle connection is kept open after a response, for the client's next request.
    keep_alive_timeout: float = attrs.field(default=5.0, validator=_positive_seconds)
    #: Connections open at once; a request on one more gets 503.
    max_connections: int = attrs.field(default=256, validator=_positive)
    #: Hear every segment before it is sent and retake the failures (`polyvox.VerifyOptions`,
    #: None: off); the verdicts go into the SSE done event (docs/listening.md).
    verify: Any = None
    #: Where the words of an answer with timestamps come from when its engine gives none:
    #: "auto" (estimated from the audio, or heard with `verify`) or "heard" (the listener hears
    #: each take of such a request; docs/words.md).
    word_times: str = attrs.field(default="auto", converter=check_word_times)
    #: Models loaded before the server listens: "engine" or "engine:model" (or an alias).
    preload: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        if not self.api_keys and not self.no_auth and not is_loopback(self.host):
            raise PolyvoxError(
                f"refusing to listen on {self.host!r} without an API key: anyone on the network could use it; "
                "give --api-key KEY, or --no-auth if that is what you want")
        for number, key in enumerate(self.api_keys, 1):
            if len(key) < MIN_KEY_CHARS:  # (the key itself is never shown: it may be a real one, mistyped)
                raise PolyvoxError(f"serve: API key {number} has {len(key)} characters: a key needs "
                                   f"{MIN_KEY_CHARS} or more, or it can be guessed (`openssl rand -hex 16` makes one)")
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise PolyvoxError(f"serve: --cors-origin {origin!r} is not an origin: give scheme://host[:port] "
                                   "(such as https://reader.example or http://localhost:3000), or *")

    def model_target(self, name: str) -> str | None:
        """What an OpenAI model name stands for: its configured target, else "" for the
        built-in names (the kernel's choice), else None (not an alias)."""
        for key in dict.fromkeys((name.lower(), _SNAPSHOT.sub("", name.lower()))):
            if key in self.model_aliases:
                return self.model_aliases[key]
            if key in OPENAI_MODELS:
                return ""
        return None
