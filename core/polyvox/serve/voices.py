"""The server's voices folder: uploads are decoded, checked and stored as 16-bit WAV under
their content hash, so a client's file name, format or voice name never becomes a path.

    VOICES_DIR/
      3f2a9c0d41b7e6a5.wav             the decoded upload; the id is its content hash
      3f2a9c0d41b7e6a5.reference.txt   its transcript, when one was given
      #server_voices.json              id -> display name (the voice library reads the files)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from polyvox import Voice
from polyvox.serve import uploads
from polyvox.serve.errors import bad_request, conflict, not_found

NAMES_FILE = "#server_voices.json"
_ID = re.compile(r"^[0-9a-f]{16}$")
_MIN_SECONDS = 0.5


class VoiceStore:
    def __init__(self, folder: Path, max_seconds: float):
        self.folder = folder
        self.max_seconds = max_seconds
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)

    # -- reading ----------------------------------------------------------------------------
    def names(self) -> dict[str, str]:
        """Uploaded voice id -> display name."""
        try:
            data = json.loads((self.folder / NAMES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: str(v) for k, v in data.items() if _ID.match(k)} if isinstance(data, dict) else {}

    def find(self, name: str) -> Voice | None:
        """An uploaded voice by id or (case-insensitive) display name."""
        names = self.names()
        wanted = name.lower()
        for voice_id, display in names.items():
            if wanted in (voice_id, display.lower()):
                return self._voice(voice_id, display)
        return None

    def all(self) -> list[tuple[str, Voice]]:
        return [(voice_id, v) for voice_id, display in sorted(self.names().items())
                if (v := self._voice(voice_id, display)) is not None]

    def _voice(self, voice_id: str, display: str) -> Voice | None:
        audio = self.folder / f"{voice_id}.wav"
        if not audio.is_file():
            return None
        transcript = self.folder / f"{voice_id}.reference.txt"
        text = transcript.read_text(encoding="utf-8").strip() if transcript.is_file() else None
        return Voice(name=display, audio=audio, reference_text=text or None)

    # -- writing ----------------------------------------------------------------------------
    def add(self, data: bytes, name: str, transcript: str | None,
            reserved: Mapping[str, str] | None = None) -> tuple[str, Voice]:
        """Store an upload; refused with a 400/413 `ApiError` unless it decodes to speech-length
        audio (checked from its header before decoding: `polyvox.serve.uploads`), and with a
        409 when `name` is `reserved` (lower-case name -> what it names), another upload's name
        or id, or when the same file is uploaded already under another name. The same file
        under its own name again is stored again (its transcript replaced)."""
        name, reserved = name.strip(), reserved or {}
        if not name or len(name) > 100 or any(c in name for c in "/\\\0\n\r"):
            raise bad_request(f"voice name {name[:100]!r} is not valid: 1 to 100 characters, no slashes or "
                              "line breaks", "name")
        if name.lower() in reserved:
            raise conflict(f"the voice name {name!r} is taken: it is {reserved[name.lower()]}, which every client "
                           "shares; choose another name", "name", "voice_name_reserved")
        audio = uploads.decode(data, self.max_seconds, _MIN_SECONDS)
        voice_id = hashlib.sha256(data).hexdigest()[:16]
        with self._lock:
            names = self.names()
            if voice_id in names and names[voice_id].lower() != name.lower():
                raise conflict(f"this file is uploaded already as the voice {names[voice_id]!r} (id {voice_id}): use "
                               f"that voice, or delete it first (DELETE /v1/audio/voices/{voice_id}) to store it under "
                               "another name", "file", "voice_exists")
            clash = [k for k, v in names.items() if name.lower() in (v.lower(), k) and k != voice_id]
            if clash:
                raise conflict(f"a voice named {name!r} exists already (id {clash[0]}): delete it first (DELETE "
                               f"/v1/audio/voices/{clash[0]}) or choose another name", "name", "voice_exists")
            _atomic(self.folder / f"{voice_id}.wav", audio.to_bytes("wav"))
            reference = self.folder / f"{voice_id}.reference.txt"
            if transcript and transcript.strip():
                _atomic(reference, transcript.strip().encode())
            else:
                reference.unlink(missing_ok=True)
            names[voice_id] = name
            self._write_names(names)
        voice = self._voice(voice_id, name)
        assert voice is not None
        return voice_id, voice

    def delete(self, voice_id: str) -> None:
        with self._lock:
            names = self.names()
            if not _ID.match(voice_id) or voice_id not in names:
                raise not_found(f"no uploaded voice has the id {voice_id[:40]!r}", "voice_id", "voice_not_found")
            for suffix in (".wav", ".reference.txt"):
                (self.folder / f"{voice_id}{suffix}").unlink(missing_ok=True)
            del names[voice_id]
            self._write_names(names)

    def _write_names(self, names: dict[str, Any]) -> None:
        _atomic(self.folder / NAMES_FILE, json.dumps(names, indent=1, sort_keys=True).encode())


def _atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
