"""Content keys: what the cache key of a segment is made of, and nothing else.

The key covers everything that changes the audio — engine and plugin version, model id
and the content of its local files, the voice's reference audio content and transcript,
language, normalized text, every parameter after defaults, the seed — and never a file
path, name, mtime, timing or output format on its own.
"""

from __future__ import annotations

import hashlib
import json
import threading
import unicodedata
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from polyvox.cache.entries import FILE_HASH, is_file_hash
from polyvox.errors import VoiceError
from polyvox.text.segment import Request
from polyvox.voices.voice import Voice

#: Bump when the layout of keys changes, so old entries are never misread.
KEY_VERSION = 1
_CHUNK = 1 << 20


def normalize_text(text: str) -> str:
    """NFC, whitespace collapsed to single spaces, stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def normalize_value(value: Any) -> Any:
    """Floats to 6 significant digits (a slider's 0.50000001 is 0.5); containers recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        rounded = float(f"{value:.6g}")
        return int(rounded) if rounded.is_integer() else rounded
    if isinstance(value, Mapping):
        return {str(k): normalize_value(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [normalize_value(v) for v in value]
    return str(value)


def digest(data: Any) -> str:
    """SHA-256 of the canonical JSON of `data`."""
    blob = json.dumps(normalize_value(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class Fingerprints:
    """Content hashes of files, memoized per (path, size, mtime, ctime, inode) in memory and in `store`.

    A 1000-segment script hashes its voice file once; a new process asks `store` (the
    cache directory) instead of reading a multi-GB checkpoint again.
    """

    def __init__(self, store: MutableMapping[str, Any] | None = None):
        self._memo: dict[tuple[str, int, int, int, int], str] = {}
        self._store = store
        self._lock = threading.Lock()
        self.files_hashed = 0  # how many files were actually read (for tests and benchmarks)

    def file(self, path: str | Path) -> str:
        try:
            p = Path(path).resolve()
            st = p.stat()
        except OSError as exc:
            raise VoiceError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
        # ctime and inode too: a same-size file copied over with its mtime kept (cp -p, rsync -a)
        # still has a new ctime, so it is hashed again
        memo_key = (str(p), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        with self._lock:
            if memo_key in self._memo:
                return self._memo[memo_key]
        # a text key and a text value: the memo lives in the cache directory, which polyvox
        # never unpickles from; a value that is not a digest is recomputed
        store_key = FILE_HASH + json.dumps(list(memo_key))
        value = self._store.get(store_key) if self._store is not None else None
        if not is_file_hash(value):
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
            value = h.hexdigest()
            self.files_hashed += 1
            if self._store is not None:
                self._store[store_key] = value
        with self._lock:
            self._memo[memo_key] = value
        return value

    def voice(self, voice: Voice) -> str:
        """What makes a voice sound as it does: audio content, transcript, model content."""
        return digest(
            {
                "audio": self.file(voice.audio) if voice.audio else None,
                "reference_text": normalize_text(voice.reference_text or ""),
                "model": self.model(voice.model, []) if voice.model else None,
            }
        )

    def model(self, model_id: str, files: list[str]) -> str:
        """A model's identity: the content of its local files (order-independent), plus its id
        unless the id is itself a path — a file or folder is known by content, never by where
        it lies, so moving weights keeps the cache and replacing them invalidates it."""
        path = Path(model_id).expanduser()
        listed = list(files)
        if path.is_file():
            model_id, listed = "", [*listed, str(path)]
        elif path.is_dir():
            if not listed:  # the engine did not say which files matter: all of them do
                listed = [str(p) for p in path.rglob("*") if p.is_file()]
            model_id = ""
        return digest({"id": model_id, "files": sorted(self.file(f) for f in dict.fromkeys(listed))})


def segment_key(
    *, engine: str, engine_version: str, model_fingerprint: str, voice_fingerprint: str, request: Request,
    emotion_fingerprint: str | None = None,
) -> str:
    """The cache key of one synthesized segment. An emotion reference (its voice's
    fingerprint) and emotion weights count only when the request has them, so the keys of
    everything else are unchanged."""
    fields: dict[str, object] = {
        "v": KEY_VERSION,
        "engine": engine,
        "engine_version": engine_version,
        "model": model_fingerprint,
        "voice": voice_fingerprint,
        "language": request.language,
        "text": normalize_text(request.text),
        "params": dict(request.params),
        "seed": request.seed,
    }
    if request.emotion is not None:
        fields["emotion"] = emotion_fingerprint or request.emotion.name
    if request.emotion_vector:
        fields["emotion_vector"] = dict(request.emotion_vector)
    return digest(fields)
