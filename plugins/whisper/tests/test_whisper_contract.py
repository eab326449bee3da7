"""polyvox-whisper against the listener contract kit, on the bundled tiny.en (no download)."""

from __future__ import annotations

from polyvox.testing import ListenerContract


class TestWhisperTinyEnContract(ListenerContract):
    listener = "whisper:tiny.en"
