"""What a cache entry is on disk: text keys, and audio as raw float32 bytes behind a checksummed header.

Nothing here ever unpickles. diskcache pickles keys and values it does not know how to
store raw, and unpickles whatever a database row says is pickled; `TextDisk` refuses both, so
a cache directory written by someone else (a shared team cache, a synced folder) can hold
wrong audio at worst, which the checksum catches, and never code.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sqlite3
import struct
from typing import Any

import attrs
import numpy as np
import xxhash

from polyvox.audio import Audio
from polyvox.errors import PolyvoxError
from polyvox.mastering.loudness import MEMO_PREFIX, Measured
from polyvox.words.timing import WordTime

#: Key prefixes: segment audio, the file-hash memo of `keys.Fingerprints`, and the takes of a
#: segment with their verdicts (`polyvox.listen.takes`, JSON text).
AUDIO = "audio:"
FILE_HASH = "file-sha256:"
TAKES = "takes:"
#: The one key of the last render's hits and misses (JSON text), for `polyvox cache stats`.
LAST_RENDER = "render:last"
#: A take's loudness measurements by the hash of its samples (`polyvox.mastering.loudness.Measured`).
LOUDNESS = MEMO_PREFIX

#: magic, format version: what every version of the header starts with.
_START = struct.Struct("<4sH")
#: Version 2 (written): magic, version, two spare bytes, sample rate, sample count, XXH3-128
#: of key + header + audio. 36 bytes, so the float32 samples after it stay 4-byte aligned and
#: are read in place.
_HEADER = struct.Struct("<4sH2xIQ16s")
#: Version 1 (read): the same with a BLAKE2b-256 checksum, 50 bytes.
_HEADER_V1 = struct.Struct("<4sHIQ32s")
_MAGIC = b"PVXA"
FORMAT_VERSION = 2
#: Format 3: format 2 followed by the clip's word times as UTF-8 JSON (the checksum covers them).
WORDS_VERSION = 3
_MAX_RATE = 1_000_000
_HEX64 = re.compile(r"[0-9a-f]{64}")


class DamagedEntry(ValueError):
    """An entry that cannot be read back as what was written (its message says why)."""


class CacheOff(Exception):
    """The cache cannot be used right now (already reported through `warn`)."""


@attrs.frozen
class ForeignKey:
    """A database key that is not text (pickled by an older polyvox, or written by another
    program). Never unpickled; kept only so the row can be listed and deleted."""

    db_key: Any
    raw: bool

    def __str__(self) -> str:
        kind = "pickled" if not self.raw else type(self.db_key).__name__
        return f"<{kind} key of {len(bytes(self.db_key)) if isinstance(self.db_key, bytes) else '?'} bytes>"


def _disk_class() -> type:
    import diskcache

    class TextDisk(diskcache.Disk):
        """diskcache's Disk with text keys and bytes or text values only: no pickle either way."""

        def put(self, key: Any) -> tuple[Any, bool]:
            if isinstance(key, ForeignKey):
                db_key = sqlite3.Binary(key.db_key) if isinstance(key.db_key, bytes) else key.db_key
                return db_key, key.raw
            if type(key) is not str:
                raise TypeError(f"cache keys are text, not {type(key).__name__}")
            return key, True

        def get(self, key: Any, raw: bool) -> Any:
            if raw and type(key) is str:
                return key
            return ForeignKey(bytes(key) if isinstance(key, (bytes, memoryview)) else key, bool(raw))

        def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> tuple[Any, ...]:
            if type(value) is Encoded:
                if value.size >= self.min_file_size:  # its parts straight into a value file of its own
                    filename, full_path = self.filename(key, value)
                    write_parts(full_path, value)
                    return value.size, diskcache.core.MODE_BINARY, filename, None
                value = value.joined()
            if type(value) not in (bytes, str):
                raise TypeError(f"cache values are bytes or text, not {type(value).__name__}")
            if type(value) is bytes and len(value) >= self.min_file_size:
                # The same entry (a file, MODE_BINARY, its size) written 4 MB at a time, as diskcache
                # writes a file-like value: given bytes, it iterates a BytesIO, which yields lines,
                # and float32 audio is full of newline bytes (some 1,400 writes a sentence).
                return super().store(io.BytesIO(value), True, key)
            return super().store(value, read, key)

        def filename(self, key: Any = diskcache.core.UNKNOWN, value: Any = diskcache.core.UNKNOWN) -> tuple[str, str]:
            """diskcache's random name one folder deep (``ab/cd0123….val``: 256 folders), not two
            (``ab/cd/0123….val``: 65,536). A cache of takes holds thousands of files, not millions;
            with two levels nearly every write made a folder (a third of a write's time)."""
            name, path = super().filename(key, value)
            top, middle, rest = name.split(os.sep)
            return os.path.join(top, middle + rest), os.path.join(path[: len(path) - len(name)], top, middle + rest)

        def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
            if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_BINARY, diskcache.core.MODE_TEXT):
                raise DamagedEntry(f"stored in mode {mode} (pickled or unknown), which polyvox never reads")
            return super().fetch(mode, filename, value, False)

    return TextDisk


@attrs.frozen
class Encoded:
    """An entry as the parts that follow one another in it (no copy of the samples made):
    what `encode_audio` joins, and what the cache writes into a value file part by part."""

    parts: tuple[bytes | memoryview, ...]
    size: int

    def joined(self) -> bytes:
        return b"".join(self.parts)


def write_parts(path: str, entry: Encoded) -> None:
    """A new value file at `path` holding `entry`: one `writev` (diskcache's own writer, given a
    reader, tried to make the folder, raising and catching an error, and went through a buffered
    file: twice the time of a sentence's write). Like diskcache's, it makes the folder when it is
    missing, tries again if another process removes that folder meanwhile, and never replaces a
    file; a file it cannot finish is removed and the error raised."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for attempt in range(10):
        try:
            fd = os.open(path, flags, 0o666)
            break
        except FileNotFoundError:
            if attempt == 9:
                raise
            os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        left = [memoryview(p).cast("B") for p in entry.parts if len(p)]
        while left:  # a file takes all of a writev but for a full disk or a signal; the rest again
            done = os.writev(fd, left) if hasattr(os, "writev") else os.write(fd, left[0])  # no writev on Windows
            while left and done >= len(left[0]):
                done -= len(left.pop(0))
            if left:
                left[0] = left[0][done:]
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.remove(path)
        raise
    os.close(fd)


def encode_audio(key: str, audio: Audio) -> bytes:
    """`audio` as header + little-endian float32 samples; the checksum covers the key too,
    so an entry copied under another key is caught as well."""
    return encode_parts(key, audio).joined()


def encode_parts(key: str, audio: Audio) -> Encoded:
    """`encode_audio`'s entry, not joined: a value file is written from the parts, so the
    samples are copied once, into the file (joining and diskcache's reader copied them twice more)."""
    samples = memoryview(np.ascontiguousarray(audio.samples, dtype="<f4")).cast("B")
    # the alignment travels with the audio, in the same checksummed entry
    words = json.dumps([w.to_dict(None) for w in audio.words], separators=(",", ":")).encode() if audio.words else b""
    version = WORDS_VERSION if audio.words else FORMAT_VERSION
    head = _HEADER.pack(_MAGIC, version, int(audio.sample_rate), len(samples) // 4, b"")[:-16]
    parts = (head, _checksum(key, head, samples, words), samples, words)
    return Encoded(parts, _HEADER.size + len(samples) + len(words))


def decode_audio(key: str, blob: Any) -> Audio:
    """The `Audio` of an entry (its samples a read-only view of `blob`), or `DamagedEntry`
    saying what is wrong with it. Reads the entries of polyvox versions that wrote format 1."""
    if not isinstance(blob, bytes):
        raise DamagedEntry(f"holds {type(blob).__name__}, not audio bytes")
    if len(blob) < _HEADER.size:  # the shorter header of the two
        raise DamagedEntry(f"is {len(blob)} bytes, shorter than its {_HEADER.size}-byte header")
    magic, version = _START.unpack_from(blob)
    if magic != _MAGIC:
        raise DamagedEntry("does not start with a polyvox audio header")
    header = {FORMAT_VERSION: _HEADER, WORDS_VERSION: _HEADER, 1: _HEADER_V1}.get(version)
    if header is None:
        raise DamagedEntry(f"has format version {version}; this polyvox reads 1 to {WORDS_VERSION}")
    if len(blob) < header.size:
        raise DamagedEntry(f"is {len(blob)} bytes, shorter than its {header.size}-byte header")
    _, _, rate, count, checksum = header.unpack_from(blob)
    payload = memoryview(blob)[header.size :]
    if len(payload) != 4 * count and (version != WORDS_VERSION or len(payload) < 4 * count):
        raise DamagedEntry(f"holds {len(payload)} bytes of audio where its header says {4 * count}")
    if not 0 < rate <= _MAX_RATE:
        raise DamagedEntry(f"has sample rate {rate}")
    check = _checksum_v1 if version == 1 else _checksum
    if check(key, blob[: header.size - len(checksum)], payload) != checksum:
        raise DamagedEntry("fails its checksum (the audio or its header changed after it was written)")
    samples = np.frombuffer(payload[: 4 * count], dtype="<f4")  # no copy: the blob is this entry's alone
    if not samples.flags.aligned:  # format 1's header leaves them unaligned
        samples = samples.copy()
    if version != WORDS_VERSION:
        return Audio(samples, rate)
    try:
        words = [WordTime.from_dict(w) for w in json.loads(bytes(payload[4 * count :]))]
    except (ValueError, PolyvoxError) as exc:
        raise DamagedEntry(f"holds word times that cannot be read ({exc})") from None
    return Audio(samples, rate, words=words)


def is_file_hash(value: Any) -> bool:
    """Whether `value` looks like what the file-hash memo stores (a SHA-256 hex digest)."""
    return isinstance(value, str) and bool(_HEX64.fullmatch(value))


def check_file_hash(value: Any) -> str:
    """A memoized file hash, or `DamagedEntry`."""
    if not is_file_hash(value):
        raise DamagedEntry("is not a SHA-256 hex digest")
    return value


def check_takes(value: Any) -> str:
    """A stored takes record (JSON text of an object with a list of takes), or `DamagedEntry`."""
    import json

    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("takes"), list):
        raise DamagedEntry("is not a takes record (JSON with a list of takes)")
    return value


def last_render(hits: int, misses: int) -> str:
    return json.dumps({"hits": hits, "misses": misses})


def check_last_render(value: Any) -> dict[str, int]:
    """The last render's counts as stored by `last_render`, or `DamagedEntry`."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("hits", "misses")):
        raise DamagedEntry("is not a last-render record (JSON with counts of hits and misses)")
    return data


def check_loudness(value: Any) -> str:
    """Stored loudness measurements (JSON text), or `DamagedEntry`."""
    try:
        Measured.from_text(value)
    except ValueError:
        raise DamagedEntry("is not loudness measurements (JSON: LUFS, peak, true peak)") from None
    return value


def _checksum(key: str, head: bytes, *payload: bytes | memoryview) -> bytes:
    """XXH3-128: catches what goes wrong by accident (a flipped bit, a torn or truncated write,
    an entry under another key) at memory speed. It is no defence against someone writing the
    cache on purpose, and neither was BLAKE2b: whoever can write an entry can write its checksum."""
    h = xxhash.xxh3_128()
    h.update(key.encode())
    h.update(b"\0")
    h.update(head)
    for part in payload:  # the same digest as of the parts joined
        h.update(part)
    return h.digest()


def _checksum_v1(key: str, head: bytes, payload: bytes | memoryview) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    h.update(key.encode())
    h.update(b"\0")
    h.update(head)
    h.update(payload)
    return h.digest()
